"""``python -m forum`` on PostgreSQL, under each async mode: a query waiting on the
database holds only its own request, never the whole process (forum/greenlets.py
``green_psycopg``).

psycopg 3 waits for the server with a C ``poll()`` unless it sees gevent's patched
``select`` (then it waits with gevent's ``poll``); under eventlet that held every
greenthread of the process for each round trip. On the stack (tests/test_stack_live.py)
a process that took over a killed one's clients fell so far behind that its connection
pool timed out for a minute (issue #14). Here one request is made to wait on a table
lock; /healthz, which reads another table, must answer meanwhile.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
import requests

from forum import sessions
from tests.live import BOTH_MODES
from tests.live import start_server

pytestmark = [pytest.mark.server, pytest.mark.postgres]


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=5)


def _waiting_on_a_lock(url: str) -> int:
    with _connect(url) as watcher:
        return watcher.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()[0]


@pytest.mark.parametrize("mode", BOTH_MODES)
def test_a_query_waiting_on_the_database_holds_only_its_own_request(pg_url, mode):
    server = start_server(mode, extra_env={"DATABASE_URL": pg_url})
    answers: list[int] = []
    try:
        with _connect(pg_url) as locker:
            locker.execute("LOCK TABLE auth_sessions IN ACCESS EXCLUSIVE MODE")
            # A signed-in request (any token: it is looked up) now waits for the lock.
            held = threading.Thread(
                target=lambda: answers.append(
                    requests.get(
                        server.url + "/account",
                        cookies={sessions.COOKIE_NAME: "t" * 43},
                        timeout=60,
                        allow_redirects=False,
                    ).status_code
                ),
                daemon=True,
            )
            held.start()
            deadline = time.monotonic() + 20
            while _waiting_on_a_lock(pg_url) == 0:
                assert time.monotonic() < deadline, "the request never reached the lock"
                time.sleep(0.1)
            started = time.monotonic()
            try:
                health = requests.get(server.url + "/healthz", timeout=10)
            except requests.Timeout:
                pytest.fail("/healthz waited for another request's query: the process is held")
            assert health.status_code == 200 and health.text == "ok\n"
            assert time.monotonic() - started < 10
            assert held.is_alive()  # still waiting: the lock is ours
            locker.rollback()
        held.join(30)
        assert answers and answers[0] < 500, answers  # it went on once the lock was gone
    finally:
        server.stop()
