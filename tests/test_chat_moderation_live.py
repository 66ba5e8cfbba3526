"""Auto-hide against the real server (default async mode): three members flag a chat message over
HTTP, and every other client in the room, on a real WebSocket, drops it at once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from forum import sessions
from forum.extensions import db
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_message
from tests.factories import make_room
from tests.factories import make_space
from tests.live import connect
from tests.live import live_database
from tests.live import seeding
from tests.live import start_server
from tests.support import CSRF_RE

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]

PEOPLE = ("author", "flagger1", "flagger2", "flagger3", "watcher")


def _seed(instance: Path, database: str | None) -> tuple[int, dict[str, str], int]:
    """An open space (flag threshold 3), five members; flaggers at trust level 1."""
    with seeding(instance, database):
        space = make_space(slug="lounge")
        room = make_room(space)
        tokens = {}
        for alias in PEOPLE:
            account = make_account(alias, age=timedelta(days=10))
            add_member(space, account)
            if alias.startswith("flagger"):
                for i in range(5):
                    make_message(room, account, f"{alias} warm-up {i}")
            _row, tokens[alias] = sessions.new_session(account)
            if alias == "author":
                target = make_message(room, account, "BAD-MESSAGE").id
        db.session.commit()
        return room.id, tokens, target


def _flag_over_http(url: str, token: str, message_id: int) -> int:
    with requests.Session() as http:
        http.cookies.set(sessions.COOKIE_NAME, token)
        page = http.get(f"{url}/flag/chat/{message_id}", timeout=10)
        assert page.status_code == 200, page.text[:300]
        response = http.post(
            f"{url}/flag/chat/{message_id}",
            allow_redirects=False,
            timeout=10,
            data={"csrf_token": CSRF_RE.search(page.text).group(1), "reason": "spam"},
        )
        return response.status_code


def test_auto_hide_removes_the_message_live_on_the_real_server(tmp_path: Path, backend: str):
    database = live_database(backend)
    room, tokens, target = _seed(tmp_path, database)
    server = start_server(instance=tmp_path, database=database)
    people = {}
    removed: dict[str, list] = {}
    lock = threading.Lock()
    try:
        for name in ("author", "flagger1", "watcher"):
            person = connect(server, tokens[name])
            removed[name] = []

            def on_removed(data: dict, name: str = name) -> None:
                with lock:
                    removed[name].append(data)

            person.client.on("removed", on_removed, namespace="/chat")
            people[name] = person
            ack = person.call("join", {"room_id": room, "after_seq": 0})
            assert ack["ok"] and "BAD-MESSAGE" in str(ack["messages"])
        for flagger in ("flagger1", "flagger2", "flagger3"):
            assert _flag_over_http(server.url, tokens[flagger], target) == 303
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with lock:
                if all(removed.values()):
                    break
            time.sleep(0.05)
        for name in people:
            assert [r["ids"] for r in removed[name]] == [[target]], (name, server.log()[-2000:])
        for name in ("watcher", "flagger1"):
            assert "BAD-MESSAGE" not in str(
                people[name].call("join", {"room_id": room, "after_seq": 0})
            )
            assert "BAD-MESSAGE" not in str(
                people[name].call("history", {"room_id": room, "before_seq": 10**6})
            )
    finally:
        for person in people.values():
            person.client.disconnect()
        server.stop()
