"""Page weight: compressed responses and static files with content-hashed names.

Compression (Flask-Compress: brotli and gzip negotiated from ``Accept-Encoding``,
``Vary`` and ETags kept right; one well-used library instead of our own encoder).
Static files are public and always compressed. A page is compressed only when the
browser says the request came from our own pages or from the member
(``Sec-Fetch-Site: same-origin`` or ``none``): a page that another site makes the
browser fetch goes out uncompressed. That is our answer to BREACH, which reads
secrets (the CSRF token, a private post) from the *compressed length* of responses
to requests an attacker's page sends with the victim's cookie while the attacker
chooses text the page reflects (a search query). Without compression the length
tells nothing. Browsers without ``Sec-Fetch-Site`` get plain pages: they still work,
only heavier (docs/WEIGHT.md).

Hashed names: ``url_for('static', filename='css/site.css')`` gives
``/static/css/site.<10 hex of SHA-256>.css``. Such a name never changes its bytes,
so it is sent with a one-year ``immutable`` lifetime and a revisit asks for nothing.
A plain name (robots.txt, an old hash after an upgrade) is still served, for a day.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import Flask
from flask import abort
from flask import request
from flask import send_from_directory
from flask.wrappers import Response
from flask_compress import Compress

HASH_LEN = 10
HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{%d})(?P<ext>\.[A-Za-z0-9]+)$" % HASH_LEN)
YEAR = 365 * 24 * 3600
DAY = 24 * 3600
# Requests the browser marks as coming from our pages or typed by the member.
FIRST_PARTY = frozenset({"same-origin", "none"})
TEXT_TYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
]

compress = Compress()


def hashed_name(filename: str, digest: str) -> str:
    """``css/site.css`` + digest -> ``css/site.<digest>.css``."""
    stem, dot, ext = filename.rpartition(".")
    if not dot or "/" in ext:
        return f"{filename}.{digest}"
    return f"{stem}.{digest}.{ext}"


def scan(folder: Path) -> dict[str, str]:
    """Every file under ``folder``: its name relative to it -> its hashed name."""
    names = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            name = path.relative_to(folder).as_posix()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_LEN]
            names[name] = hashed_name(name, digest)
    return names


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_REGISTER", False)  # we decide per request, below
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_MIMETYPES", TEXT_TYPES)
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    compress.init_app(app)
    folder = Path(app.static_folder or "static")
    forward = scan(folder)
    backward = {hashed: name for name, hashed in forward.items()}
    app.extensions["rb_static_names"] = forward

    def hashed_urls(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = forward.get(values["filename"], values["filename"])

    def static_file(filename: str) -> Response:
        name = backward.get(filename)
        immutable = name is not None
        if name is None:
            match = HASHED.match(filename)
            # An old hash after an upgrade: today's file, without the long lifetime.
            name = match.group("stem") + match.group("ext") if match else filename
        if name not in forward:
            abort(404)
        response = send_from_directory(folder, name, max_age=YEAR if immutable else DAY)
        if immutable:
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        if response.status_code == 200:
            # Whole bytes, not a file stream: then it is compressed like a page (streamed
            # bodies get no gzip). Our files are a few KB; nginx serves them in production.
            response.direct_passthrough = False
            data = response.get_data()
            response.close()  # the file it read from
            response.set_data(data)
        return response

    app.url_default_functions.setdefault(None, []).append(hashed_urls)
    app.view_functions["static"] = static_file
    app.after_request(compressed)


def compressed(response: Response) -> Response:
    """``after_request``: static files always; pages only for first-party requests."""
    if request.path.startswith("/static/"):
        return compress.after_request(response)
    vary = response.headers.get("Vary")
    response.headers["Vary"] = f"{vary}, Sec-Fetch-Site" if vary else "Sec-Fetch-Site"
    if request.headers.get("Sec-Fetch-Site") not in FIRST_PARTY:
        return response
    return compress.after_request(response)
