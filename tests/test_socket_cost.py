"""What a socket costs the database: connect, join and the session check every event runs.

Counted with SQLAlchemy's ``before_cursor_execute`` event on the app's engine, as
``tests/test_page_cost.py`` counts pages. No timing: ``bench/connections.py`` measures
speed. The session is still read from the database at every event (a logout elsewhere
must end the socket's rights at its next one: ``tests/test_chat.py``,
``tests/test_revocation_live.py``); these tests hold how many statements that takes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from forum.extensions import db

WRITES = ("insert", "update", "delete", "replace")


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def writes(seen: list[str]) -> list[str]:
    return [s for s in seen if s.lower().startswith(WRITES)]


def test_every_event_checks_the_session_in_one_query(app, client, lounge, member, socket):
    sock = socket()
    assert sock.ack("heartbeat")["ok"]
    with statements() as seen:
        assert sock.ack("heartbeat")["ok"]
    assert len(seen) == 1, seen
    assert not writes(seen)


def test_connect_reads_the_session_once_and_registers_the_socket(app, client, member, socket):
    socket()  # the first connect may warm caches
    with statements() as seen:
        sock = socket()
    assert sock.connected
    reads = [s for s in seen if s.lower().startswith("select")]
    assert len(reads) == 1, seen  # session and account in one query
    assert len(writes(seen)) == 1, seen  # the socket's registry row, nothing else


def test_join_of_a_room_already_joined_writes_nothing(app, client, lounge, member, socket):
    room_id = lounge.id
    sock = socket()
    assert sock.ack("join", {"room_id": room_id})["ok"]
    with statements() as seen:
        assert sock.ack("join", {"room_id": room_id})["ok"]
    inserted = [s for s in writes(seen) if "DO NOTHING" not in s.upper()]
    assert not inserted, seen
