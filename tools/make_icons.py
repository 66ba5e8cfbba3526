"""Draw the neutral icon (static/img/favicon-discreet.svg) as PNGs for the web app manifest.

    python tools/make_icons.py          # writes static/img/notes-192.png, notes-512.png
    python tools/make_icons.py --check  # exit 1 if the committed files differ

Pure Python (zlib and struct from the standard library): no new dependency, and the same
bytes on every machine, so a test can check that the committed icons are what this script
draws (tests/test_manifest_icons.py). The shapes are the SVG's, on its 32x32 grid: a grey page with
rounded corners (x 6-26, y 3-29, radius 2.5, #8a8a8a) and three light lines (#f4f4f4, 2
wide: y 10 and 15 from x 10 to 22, y 20 from x 10 to 18). Edges are smoothed by sampling
each pixel 4x4 times. Change the SVG, change this too.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static" / "img"
SIZES = (192, 512)
PAGE = (0x8A, 0x8A, 0x8A)
INK = (0xF4, 0xF4, 0xF4)
LINES = ((10, 22, 10), (10, 22, 15), (10, 18, 20))  # x from, x to, y centre
SAMPLES = 4


def _in_page(x: float, y: float) -> bool:
    left, top, right, bottom, r = 6.0, 3.0, 26.0, 29.0, 2.5
    if not (left <= x <= right and top <= y <= bottom):
        return False
    cx = min(max(x, left + r), right - r)
    cy = min(max(y, top + r), bottom - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _on_line(x: float, y: float) -> bool:
    return any(x0 <= x <= x1 and abs(y - yc) <= 1.0 for x0, x1, yc in LINES)


def draw(size: int) -> bytes:
    """The icon at ``size`` x ``size`` as a PNG (8-bit RGBA, no ancillary chunks)."""
    scale = 32 / size
    rows = []
    for py in range(size):
        row = bytearray([0])  # filter type 0 for every scanline
        for px in range(size):
            page = ink = 0
            for sy in range(SAMPLES):
                y = (py + (sy + 0.5) / SAMPLES) * scale
                for sx in range(SAMPLES):
                    x = (px + (sx + 0.5) / SAMPLES) * scale
                    if _in_page(x, y):
                        page += 1
                        if _on_line(x, y):
                            ink += 1
            total = SAMPLES * SAMPLES
            if page == 0:
                row += b"\0\0\0\0"
                continue
            colour = [
                round((p * (page - ink) + i * ink) / page) for p, i in zip(PAGE, INK, strict=True)
            ]
            row += bytes([*colour, round(255 * page / total)])
        rows.append(bytes(row))
    return _png(size, size, b"".join(rows))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _png(width: int, height: int, raw: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def path_for(size: int) -> Path:
    return STATIC / f"notes-{size}.png"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for size in SIZES:
        data = draw(size)
        target = path_for(size)
        if check:
            if not target.exists() or target.read_bytes() != data:
                stale.append(str(target))
        else:
            target.write_bytes(data)
            print(f"wrote {target} ({len(data)} bytes)")
    for name in stale:
        print(f"out of date: {name} (run python tools/make_icons.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
