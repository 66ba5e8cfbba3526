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

import pytest
import sqlalchemy as sa

from forum.extensions import db
from realtime import chat
from realtime import push
from realtime import sockets
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


def test_a_crowded_room_reuses_presence_and_the_update_reaches_the_joiner(
    app, client, member, lounge, socket, person, monkeypatch
):
    """Filling a room read everyone present at every join (O(N^2)). In a room of at least
    chat.CROWDED people, a join's ack reuses the count read within RB_PRESENCE_MS in this
    process, and the room's coalesced update then reaches that joiner too (its ack did not
    show its own arrival). Small rooms read it at every join (tests/test_chat.py)."""
    app.config["RB_PRESENCE_MS"] = 60_000  # the window cannot pass during the test
    monkeypatch.setattr(chat, "CROWDED", 2)
    scheduled = []
    monkeypatch.setattr(
        push.socketio, "start_background_task", lambda *args: scheduled.append(args)
    )
    room_id = lounge.id
    _bo, bo_client = person("Bodil", lounge.space)
    _cy, cy_client = person("Cyrus", lounge.space)
    amara, bo, cy = socket(), socket(bo_client), socket(cy_client)
    assert amara.ack("join", {"room_id": room_id})["presence"]["count"] == 1
    assert bo.ack("join", {"room_id": room_id})["presence"]["count"] == 2  # read: 1 < 2
    with statements() as seen:
        ack = cy.ack("join", {"room_id": room_id})
    assert ack["presence"]["count"] == 2  # reused: read before Cyrus came
    assert not [s for s in seen if "count(" in s.lower()], seen
    assert push.flush_presence(room_id) is True
    assert [p["count"] for p in cy.received("presence")] == [3]  # not spared: it needs it
    assert [p["count"] for p in amara.received("presence")] == [3]
    assert len(scheduled) == 1


def test_a_resume_with_nothing_new_does_not_read_the_messages(app, client, member, lounge, socket):
    """A page joins with the seq it shows; when nothing came since (the room's last seq
    is not past it), the answer is empty without a query for the messages."""
    room_id = lounge.id
    for i in range(3):
        make_message(lounge, member, f"message {i}")
    sock = socket()
    with statements() as seen:
        ack = sock.ack("join", {"room_id": room_id, "after_seq": 3})
    assert (ack["messages"], ack["through"], ack["more"]) == ([], 3, False)
    assert not [s for s in seen if "FROM chat_messages" in s], seen
    ack = sock.ack("history", {"room_id": room_id, "after_seq": 1})
    assert [m["seq"] for m in ack["messages"]] == [2, 3] and ack["through"] == 3


@pytest.mark.sqlite_only("reads SQLite's query plan")
def test_live_delivery_finds_the_blockers_by_the_blocked_name_not_by_every_socket(
    app, client, lounge, member, socket
):
    """Every message asks whose sockets to skip (they blocked its author). Probing each
    socket row with an EXISTS cost ~1 ms a message at 1,000 sockets: the plan must start
    from the blocks of the name (its index) and reach sockets by account, never scan them."""
    for _ in range(3):
        socket()
    message = make_message(lounge, member, "who blocked me?")
    assert sockets.sids_blocking(message) == []
    with db.engine.connect() as conn:
        compiled = sockets._blockers_sockets().compile(conn)
        values = compiled.construct_params(
            {"id": message.author_id, "name": message.author_name, "space": message.space_id}
        )
        ordered = tuple(values[name] for name in compiled.positiontup)
        plan = [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", ordered)]
    assert not any(step.startswith("SCAN chat_sockets") for step in plan), plan
    assert any("chat_sockets" in step and "INDEX" in step for step in plan), plan
    assert any("mod_blocks" in step and "INDEX" in step for step in plan), plan


def test_socket_events_do_not_open_flasks_cookie_session_pages_do(
    app, client, lounge, member, socket, monkeypatch
):
    """Flask's signed cookie (the CSRF secret) is opened for pages only: every socket event
    pushed a request context that opened it for nothing (forum/sessions.py)."""
    opened: list[str] = []
    interface = app.session_interface
    real_open = type(interface).__mro__[1].open_session

    def counting(self, app_, request):
        opened.append(request.path)
        return real_open(self, app_, request)

    monkeypatch.setattr(type(interface).__mro__[1], "open_session", counting)
    sock = socket()
    assert sock.ack("join", {"room_id": lounge.id, "after_seq": 0})["ok"]
    assert sock.ack("heartbeat")["ok"]
    assert opened == []
    assert client.get(f"/s/{lounge.space_id}").status_code == 200
    assert opened == [f"/s/{lounge.space_id}"]


def test_a_send_leaves_the_room_it_loaded_as_stored(app, lounge, member):
    """The send commits without expiring what the session holds; the one value of it the
    send changed, the room's last seq, is set to the seq it stored (same session: no
    reload), on the room entity the caller loaded (the send reads plain rows)."""
    chat.post_message(member, lounge.id, "kept-0001", "a")
    message, _new = chat.post_message(member, lounge.id, "kept-0002", "b")
    room = db.session.get(type(lounge), lounge.id)
    with statements() as seen:
        assert room.last_seq == message.seq == 2
    assert seen == []  # nothing expired: read without a query
    db.session.expire_all()
    assert db.session.get(type(lounge), lounge.id).last_seq == 2
