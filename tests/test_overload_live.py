"""A server under overload queues its work; it never fails it (issue #13, item 5).

With millions of chat messages and a sweep of a big backlog, the real server's pool of
database connections ran dry: Socket.IO events each took a connection, yielded to the
hub part-way, and the ones behind them (and the sweep itself) waited 30 s for a
connection and failed with ``TimeoutError``. Here the same thing at the smallest size
that shows it: a pool of 2 connections that gives up after 2 s, eight clients sending
at once, and a start-up sweep of a few thousand expired messages (seeded the way
``python -m bench.expiry`` seeds millions). Every send must be acknowledged as stored,
the sweep must finish, and the server must log no failure.
"""

from __future__ import annotations

import threading
import time

import pytest

from bench import expiry as expiry_bench
from bench.servers import LOAD_ENV
from bench.servers import remove_instance
from tests.live import connect
from tests.live import start_server

pytestmark = [pytest.mark.server, pytest.mark.timeout(300)]

SENDS = 25  # per client, all emitted at once


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_overloaded_server_queues_every_event_and_still_sweeps(tmp_path, mode):
    inst = expiry_bench.seed_instance(4000, 3000, 2, base_dir=str(tmp_path))
    env = {
        **LOAD_ENV,  # no rate limit reached: what is tested is the queue, not a 429
        "RB_SWEEP_INTERVAL": "3600",  # the start-up sweep takes the backlog, beside the chat
        "RB_DB_POOL_SIZE": "2",
        "RB_DB_MAX_OVERFLOW": "0",
        "RB_DB_POOL_TIMEOUT": "2",
    }
    server = start_server(mode, extra_env=env, instance=inst.seeded.instance, init_db=False)
    people = []
    try:
        people = [connect(server, token) for token in inst.seeded.tokens]
        for person in people:
            joined = person.call("join", {"room_id": inst.chat_room, "after_seq": inst.total})
            assert joined["ok"], joined
        acks: dict[tuple[int, int], dict] = {}
        lock = threading.Lock()
        done = threading.Event()
        expected = len(people) * SENDS

        def answered(key: tuple[int, int], answer: dict) -> None:
            with lock:
                acks[key] = answer
                if len(acks) == expected:
                    done.set()

        for n in range(SENDS):
            for i, person in enumerate(people):
                person.client.emit(
                    "send",
                    {"room_id": inst.chat_room, "client_id": f"overload-{i}-{n}", "body": f"{n}"},
                    namespace="/chat",
                    callback=lambda answer, key=(i, n): answered(key, answer),
                )
        assert done.wait(120), f"{expected - len(acks)} of {expected} sends never acknowledged"
        refused = [answer for answer in acks.values() if not answer.get("ok")]
        assert refused == [], (len(refused), _failures(server.log()))
        deadline = time.monotonic() + 120
        while not expiry_bench._swept(inst.db_path, inst.seed_at):
            assert time.monotonic() < deadline, "the sweep did not finish"
            time.sleep(0.2)
        assert _failures(server.log()) == []
        rows = expiry_bench._count(inst.db_path)
        assert rows == inst.total - inst.expired + expected
    finally:
        for person in people:
            person.client.disconnect()
        server.stop()
        remove_instance(inst.seeded)


def _failures(log: str) -> list[str]:
    """The server's logged failures (error types only: the app logs no content), once each."""
    return sorted({line for line in log.splitlines() if "failed" in line or "Error" in line})
