"""Page weight: the compressed bytes a phone downloads for each main page.

    python -m bench.weight              # seed an instance, print the table, exit 1 over budget
    python -m bench.weight --json       # the same as JSON lines

Each page is fetched twice, in-process through the app (the same code a server runs,
so the figures do not depend on this machine's speed): as a **first-time visitor**
(empty cache: the page and every stylesheet, script, icon and manifest it links,
each fetched like a browser, with ``Accept-Encoding: gzip`` and ``Sec-Fetch-Site``),
and as a **returning member** (the linked files have content-hashed names and a
one-year immutable lifetime, so only the page itself travels). Bytes are the bodies
as sent, compressed, without HTTP headers (a few hundred bytes a response, and
HTTP/2 compresses those too) and without the Socket.IO handshake. gzip, not brotli:
nginx serves the static files gzipped (Debian's nginx has no brotli), so this is the
figure a phone really gets; brotli on pages makes them only smaller.

Budgets (issue 15): every forum page <= 30 KB on a first visit, chat <= 80 KB.
``tests/test_weight.py`` runs :func:`measure` on a seeded app and holds them.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask import url_for
from flask.testing import FlaskClient

KB = 1024
FORUM_BUDGET = 30 * KB
CHAT_BUDGET = 80 * KB
LINKED = re.compile(
    r"""<(?:script[^>]*\ssrc|link[^>]*\shref|img[^>]*\ssrc)="(/static/[^"]+)\"""", re.IGNORECASE
)
LINKED_MANIFEST = re.compile(r"""<link[^>]*rel="manifest"[^>]*href="([^"]+)\"""", re.IGNORECASE)
BROWSER = {"Accept-Encoding": "gzip", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"}


@dataclass
class Weight:
    who: str  # "visitor" or "member"
    page: str  # a short name
    path: str
    page_bytes: int  # the page alone, compressed (a returning member's cost)
    first_bytes: int  # the page and everything it links, compressed (an empty cache)
    files: int  # how many linked files
    budget: int

    @property
    def within(self) -> bool:
        return self.first_bytes <= self.budget

    def row(self) -> dict[str, Any]:
        return {
            "who": self.who,
            "page": self.page,
            "page_bytes": self.page_bytes,
            "first_bytes": self.first_bytes,
            "files": self.files,
            "budget": self.budget,
            "within": self.within,
        }


def linked_files(html: str) -> list[str]:
    """Every same-origin file a page makes the browser load, in order, once each."""
    found = LINKED.findall(html) + LINKED_MANIFEST.findall(html)
    return list(dict.fromkeys(found))


def wire_bytes(client: FlaskClient, path: str, **headers: str) -> tuple[int, str]:
    """The compressed body's length, and the decoded text (for pages)."""
    response = client.get(path, headers={**BROWSER, **headers})
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}, not 200")
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    text = ""
    if response.mimetype == "text/html":
        text = _decode(body, encoding)
    return len(body), text


def _decode(body: bytes, encoding: str | None) -> str:
    import gzip

    import brotli

    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "br":
        body = brotli.decompress(body)
    return body.decode("utf-8")


def weigh(client: FlaskClient, who: str, page: str, path: str, budget: int) -> Weight:
    page_bytes, html = wire_bytes(client, path, **{"Sec-Fetch-Site": "none"})
    total, files = page_bytes, linked_files(html)
    for asset in files:
        size, _ = wire_bytes(client, asset, **{"Sec-Fetch-Dest": "script"})
        total += size
    return Weight(who, page, path, page_bytes, total, len(files), budget)


def visitor_pages() -> dict[str, str]:
    return {
        "front": url_for("main.index"),
        "log in": url_for("auth.login"),
        "sign up": url_for("auth.signup"),
        "recover": url_for("auth.recover"),
    }


def member_pages(space: Any, thread_id: int, room_id: int) -> dict[str, tuple[str, int]]:
    """Each main page a member uses, and its budget."""
    key = space_key(space)
    forum = {
        "home": url_for("main.index"),
        "spaces": url_for("spaces.index"),
        "space": url_for("spaces.show", **key),
        "thread (50 posts)": url_for("threads.show", thread_id=thread_id),
        "new thread": url_for("threads.new", **key),
        "updates": url_for("threads.updates"),
        "search": url_for("threads.search", q="advice"),
        "notices": url_for("moderation.notice_list"),
        "moderation log": url_for("moderation.log", **key),
        "account": url_for("account.settings"),
        "check-in": url_for("buddies.hub"),
    }
    pages = {name: (path, FORUM_BUDGET) for name, path in forum.items()}
    pages["chat (50 messages)"] = (
        url_for("chat.room", room_id=room_id, **key),
        CHAT_BUDGET,
    )
    return pages


def space_key(space: Any) -> dict[str, Any]:
    """The URL values naming a space: its id, as every link the app makes (never its slug,
    which would put its subject into history; tests/test_discreet.py)."""
    from flask import current_app

    rule = next(r for r in current_app.url_map.iter_rules() if r.endpoint == "spaces.show")
    (name,) = rule.arguments
    return {name: space.id}


def measure(app: Flask, token: str, space: Any, thread_id: int, room_id: int) -> list[Weight]:
    """Weigh every main page on ``app``: signed out, then as the member holding ``token``."""
    rows = []
    with app.test_request_context():
        visitor = visitor_pages()
        member = member_pages(space, thread_id, room_id)
    with app.test_client() as client:
        for name, path in visitor.items():
            rows.append(weigh(client, "visitor", name, path, FORUM_BUDGET))
    with app.test_client() as client:
        client.set_cookie("rb_session", token)
        for name, (path, budget) in member.items():
            rows.append(weigh(client, "member", name, path, budget))
    return rows


def table(rows: list[Weight]) -> str:
    lines = [f"{'who':8} {'page':20} {'page KB':>8} {'first KB':>9} {'files':>5} {'budget':>7}"]
    for r in rows:
        mark = "" if r.within else "  OVER"
        lines.append(
            f"{r.who:8} {r.page:20} {r.page_bytes / KB:8.1f} {r.first_bytes / KB:9.1f} "
            f"{r.files:5d} {r.budget // KB:6d}K{mark}"
        )
    return "\n".join(lines)


def seeded_app() -> tuple[Flask, Path, str, Any, int, int]:
    """A fresh instance as ``bench.pages`` seeds it (threads, a 50-post thread, chat)."""
    from bench import servers
    from forum.app import create_app
    from forum.extensions import db
    from forum.models import Space

    seeded = servers.seed(servers.PAGES_MEMBERS, pages=True)
    config = servers._seed_config(seeded.instance)
    app = create_app(config)
    with app.app_context():
        space = db.session.query(Space).filter_by(slug=seeded.space_slug).one()
        db.session.expunge(space)
    return app, seeded.instance, seeded.tokens[0], space, seeded.thread_id, seeded.room_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    args = parser.parse_args(argv)
    app, instance, token, space, thread_id, room_id = seeded_app()
    try:
        rows = measure(app, token, space, thread_id, room_id)
    finally:
        shutil.rmtree(instance, ignore_errors=True)
    if args.json:
        for r in rows:
            print(json.dumps(r.row()))
    else:
        print(table(rows))
    over = [r for r in rows if not r.within]
    for r in over:
        print(f"over budget: {r.who} {r.page} {r.first_bytes} > {r.budget}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
