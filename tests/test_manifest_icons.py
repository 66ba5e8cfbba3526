"""The manifest's icons (issue 15): the neutral icon as PNGs of 192 and 512 pixels beside
the SVG, each really there, under a content-hashed name, a valid PNG of the size the
manifest states; and the committed files are what tools/make_icons.py draws."""

from __future__ import annotations

import importlib.util
import re
import struct
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking it: signature, every chunk's CRC, an IHDR
    first, image data that inflates to exactly the rows it declares, an IEND last."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, chunks, idat = 8, [], b""
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, kind
        chunks.append(kind)
        if kind == b"IDAT":
            idat += body
        at += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND" and b"IDAT" in chunks
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    assert depth == 8
    assert len(zlib.decompress(idat)) == height * (1 + width * channels)
    return width, height


def test_the_neutral_manifest_names_pngs_that_exist_at_their_stated_size(client):
    manifest = client.get("/manifest.webmanifest").get_json(force=True)  # a fresh device
    assert manifest["name"] == "Notes"
    pngs = [i for i in manifest["icons"] if i["type"] == "image/png"]
    assert sorted(i["sizes"] for i in pngs) == ["192x192", "512x512"]
    assert any(i["type"] == "image/svg+xml" for i in manifest["icons"])
    for icon in manifest["icons"]:
        # Content-hashed, like every static name (forum/weight.py).
        assert re.fullmatch(r"/static/img/[a-z0-9-]+\.[0-9a-f]{10}\.(png|svg)", icon["src"])
        answer = client.get(icon["src"])
        assert answer.status_code == 200 and answer.mimetype == icon["type"], icon
        assert "immutable" in answer.headers["Cache-Control"]
        if icon["type"] == "image/png":
            side = int(icon["sizes"].split("x")[0])
            assert png_size(answer.get_data()) == (side, side), icon


def test_the_check_catches_a_broken_png():
    good = (ROOT / "static" / "img" / "notes-192.png").read_bytes()
    assert png_size(good) == (192, 192)  # positive control
    flipped = bytearray(good)
    flipped[40] ^= 0xFF  # inside the image data: its CRC no longer matches
    for bad in (bytes(flipped), good[:-12], b"GIF89a" + good[6:]):
        try:
            png_size(bad)
        except (AssertionError, zlib.error, struct.error):
            continue
        raise AssertionError("a broken PNG passed")


def test_the_committed_icons_are_what_the_script_draws():
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "tools" / "make_icons.py")
    make_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_icons)
    # The small one is drawn here (the big one takes seconds: `python tools/make_icons.py
    # --check` checks both); same code, same bytes.
    assert make_icons.draw(192) == make_icons.path_for(192).read_bytes()
    assert png_size(make_icons.path_for(512).read_bytes()) == (512, 512)
