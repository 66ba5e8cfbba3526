"""The live channel against the real server (``python -m forum``, the default async mode).

A real python-socketio client watches a thread page, as static/js/live.js does; the
thread's author replies and then deletes the reply over plain HTTP, as a browser
would. The watcher hears ``update`` and ``new_reply``, then ``posts_removed``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests
import socketio as sio

from forum import sessions
from forum import threads
from forum.extensions import db
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_space
from tests.live import live_database
from tests.live import seeding
from tests.live import start_server
from tests.support import CSRF_RE

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]


def _seed(instance: Path, database: str | None) -> tuple[int, dict[str, str]]:
    with seeding(instance, database):
        space = make_space(slug="porch", name="Porch")
        tokens = {}
        people = {}
        for alias in ("bodil", "dana"):
            people[alias] = make_account(alias)
            add_member(space, people[alias])
            _row, tokens[alias] = sessions.new_session(people[alias])
        db.session.commit()
        topic = threads.create_thread(
            people["bodil"], space.slug, title="Who is around tonight?", body="Hi all"
        )
        threads.set_follow(people["dana"], topic.id, True)
        return topic.id, tokens


class Watcher:
    def __init__(self, url: str, token: str) -> None:
        self.heard: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.client = sio.Client(reconnection=False, websocket_extra_options={"origin": url})
        for name in ("update", "new_reply", "posts_removed", "post_changed", "thread_gone"):
            self.client.on(name, self._recorder(name), namespace="/chat")
        self.client.connect(
            url,
            headers={"Cookie": f"{sessions.COOKIE_NAME}={token}"},
            namespaces=["/chat"],
            transports=["websocket"],
            wait_timeout=10,
        )

    def _recorder(self, name: str):
        def record(data: dict) -> None:
            with self.lock:
                self.heard.append((name, data))

        return record

    def wait_for(self, name: str, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [data for event, data in self.heard if event == name]
            if found:
                return found
            time.sleep(0.05)
        return []


def _browser(url: str, token: str) -> requests.Session:
    http = requests.Session()
    http.cookies.set(sessions.COOKIE_NAME, token)  # a jar, so the CSRF cookie joins it
    http.headers["Origin"] = url
    return http


def _form_post(
    http: requests.Session, url: str, page: str, action: str, data: dict
) -> requests.Response:
    token = CSRF_RE.search(http.get(url + page, timeout=10).text).group(1)
    return http.post(
        url + action, data={"csrf_token": token, **data}, allow_redirects=False, timeout=10
    )


def test_thread_page_hears_a_reply_and_its_removal_live(tmp_path: Path, backend: str):
    database = live_database(backend)
    thread_id, tokens = _seed(tmp_path, database)
    server = start_server(instance=tmp_path, database=database)
    watcher = None
    try:
        watcher = Watcher(server.url, tokens["dana"])
        ack = watcher.client.call(
            "watch_thread", {"thread_id": thread_id}, namespace="/chat", timeout=15
        )
        assert ack == {"ok": True, "thread_id": thread_id}
        missing = watcher.client.call(
            "watch_thread", {"thread_id": thread_id + 999}, namespace="/chat", timeout=15
        )
        assert missing["status"] == 404

        bodil = _browser(server.url, tokens["bodil"])
        page = f"/t/{thread_id}"
        reply = _form_post(bodil, server.url, page, f"{page}/reply", {"body": "I am, from 10"})
        assert reply.status_code == 303, reply.text[:300]
        post_id = int(reply.headers["Location"].rsplit("#p", 1)[1])

        [new] = watcher.wait_for("new_reply")
        assert new == {"thread_id": thread_id, "post_id": post_id, "page": 1}
        [update] = watcher.wait_for("update")
        assert update == {
            "thread_id": thread_id,
            "title": "Who is around tonight?",
            "space": "Porch",
            "new_posts": 1,
        }

        gone = _form_post(bodil, server.url, page, f"/p/{post_id}/delete", {})
        assert gone.status_code == 303, gone.text[:300]
        assert watcher.wait_for("posts_removed") == [
            {"thread_id": thread_id, "post_ids": [post_id]}
        ]
        assert "Traceback" not in server.log()
    finally:
        if watcher is not None:
            watcher.client.disconnect()
        server.stop()
