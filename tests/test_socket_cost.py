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
from tests.factories import make_message

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


def test_join_costs_the_same_for_a_full_room(app, client, lounge, member, socket, person):
    """The statements of a join do not grow with the people in the room or with the
    messages its answer carries (each used to be read again after the socket's room row
    was committed)."""
    room_id = lounge.id

    def join_statements(others: int, messages: int) -> list[str]:
        for i in range(others):
            _account, other = person(f"Present{others}x{i}", lounge.space)
            assert socket(other).ack("join", {"room_id": room_id})["ok"]
        for i in range(messages):
            make_message(lounge, member, f"message {others}-{i}")
        sock = socket()
        with statements() as seen:
            ack = sock.ack("join", {"room_id": room_id})
        assert ack["ok"], ack
        assert ack["presence"]["count"] >= others + 1
        return seen

    few = join_statements(1, 1)
    many = join_statements(6, 20)  # (logins per address: at most 10 in 15 minutes)
    assert len(few) == len(many), (few, many)
    assert len(writes(many)) == 1, many  # the socket's room row


def test_join_of_a_room_already_joined_writes_nothing(app, client, lounge, member, socket):
    room_id = lounge.id
    sock = socket()
    assert sock.ack("join", {"room_id": room_id})["ok"]
    with statements() as seen:
        assert sock.ack("join", {"room_id": room_id})["ok"]
    inserted = [s for s in writes(seen) if "DO NOTHING" not in s.upper()]
    assert not inserted, seen
