"""Chat against the real server (``python -m forum``, default mode) with real Socket.IO clients.

The test writes accounts, sessions, a space and a room into the server's SQLite
file before starting it, and talks to it with python-socketio's client over
WebSocket, as a browser would (Origin header, ``rb_session`` cookie).
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import socketio as sio

from forum import sessions
from forum import signals
from forum.extensions import db
from forum.models import Membership
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_room
from tests.factories import make_space
from tests.live import Person
from tests.live import connect
from tests.live import live_database
from tests.live import seeding
from tests.live import start_server

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]

PEOPLE = ("amara", "bodil", "chen", "dana", "floody")


def _seed(
    instance: Path, database: str | None, config: dict
) -> tuple[int, int, dict[str, str], dict[str, int]]:
    """Accounts (all but floody older than 3 days), an open space, memberships, tokens."""
    with seeding(instance, database, **config):
        space = make_space(slug="lounge")
        room = make_room(space)
        tokens, ids = {}, {}
        for alias in PEOPLE:
            account = make_account(alias, age=None if alias == "floody" else timedelta(days=10))
            if alias != "dana":  # dana is not a member
                add_member(space, account)
            _row, tokens[alias] = sessions.new_session(account)
            ids[alias] = account.id
        db.session.commit()
        return space.id, room.id, tokens, ids


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, backend: str):
    instance = tmp_path_factory.mktemp("live-chat")
    database = live_database(backend)
    seeded = _seed(instance, database, {})
    server = start_server(
        instance=instance, database=database, extra_env={"RB_LIMIT_CHAT": "100 per 10 seconds"}
    )
    yield server, seeded
    server.stop()


def _send(person: Person, room_id: int, body: str, client_id: str | None = None) -> dict:
    return person.call(
        "send", {"room_id": room_id, "client_id": client_id or uuid.uuid4().hex, "body": body}
    )


def test_two_members_exchange_messages_live(live):
    server, (_space, room, tokens, _ids) = live
    amara, bodil = connect(server, tokens["amara"]), connect(server, tokens["bodil"])
    try:
        assert amara.call("join", {"room_id": room, "after_seq": 0})["ok"]
        assert bodil.call("join", {"room_id": room, "after_seq": 0})["ok"]
        ack = _send(amara, room, "hello bodil")
        assert ack["ok"], ack
        heard = bodil.wait_for(1)
        assert [m["html"] for m in heard] == ["hello bodil"] and heard[0]["seq"] == ack["seq"]
        ack = _send(bodil, room, "hi *amara*")
        assert [m["html"] for m in amara.wait_for(1)] == ["hi <em>amara</em>"]
    finally:
        amara.client.disconnect()
        bodil.client.disconnect()


def test_non_member_join_is_refused(live):
    server, (_space, room, tokens, _ids) = live
    dana = connect(server, tokens["dana"])
    try:
        ack = dana.call("join", {"room_id": room, "after_seq": 0})
        assert ack["ok"] is False and "Join this space" in ack["error"]
    finally:
        dana.client.disconnect()


@pytest.mark.parametrize(("token_of", "origin"), [(None, None), ("amara", "http://evil.example")])
def test_missing_session_or_wrong_origin_is_refused(live, token_of, origin):
    server, (_space, _room, tokens, _ids) = live
    with pytest.raises(sio.exceptions.ConnectionError):
        connect(server, tokens.get(token_of), origin=origin)


def test_reconnect_receives_exactly_the_missed_messages_then_live_ones(live):
    server, (_space, room, tokens, _ids) = live
    amara, bodil = connect(server, tokens["amara"]), connect(server, tokens["bodil"])
    try:
        bodil.call("join", {"room_id": room, "after_seq": 0})
        last = _send(amara, room, "before the drop")["seq"]
        bodil.wait_for(1)
        bodil.client.disconnect()
        missed = [_send(amara, room, f"missed {i}")["seq"] for i in range(20)]
        bodil = connect(server, tokens["bodil"])
        ack = bodil.call("join", {"room_id": room, "after_seq": last})
        assert [m["seq"] for m in ack["messages"]] == missed
        assert [m["html"] for m in ack["messages"]] == [f"missed {i}" for i in range(20)]
        assert ack["more"] is False
        live_ack = _send(amara, room, "after the return")
        assert [m["seq"] for m in bodil.wait_for(1)] == [live_ack["seq"]]
    finally:
        amara.client.disconnect()
        bodil.client.disconnect()


def test_retried_send_is_stored_once_and_heard_as_one_seq(live):
    """The retry is announced again (its first broadcast may have died with a process);
    both announcements carry the one stored seq, which clients show once."""
    server, (_space, room, tokens, _ids) = live
    amara, bodil = connect(server, tokens["amara"]), connect(server, tokens["bodil"])
    try:
        bodil.call("join", {"room_id": room, "after_seq": 10**6})
        first = _send(amara, room, "only once", client_id="retry-live-1")
        second = _send(amara, room, "only once", client_id="retry-live-1")
        assert first == second and first["ok"]
        heard = bodil.wait_for(2)
        assert [(m["id"], m["seq"]) for m in heard] == [(first["id"], first["seq"])] * 2
    finally:
        amara.client.disconnect()
        bodil.client.disconnect()


def test_flood_is_cut_by_the_rate_limit(live):
    server, (_space, room, tokens, _ids) = live
    floody = connect(server, tokens["floody"])
    try:
        acks = [_send(floody, room, f"spam {i}") for i in range(8)]
        assert [a["ok"] for a in acks] == [True] * 5 + [False] * 3
        assert "Too many tries" in acks[5]["error"]
    finally:
        floody.client.disconnect()


def test_removed_member_stops_receiving_at_once_through_redis(
    tmp_path: Path, redis_url: str, backend: str
):
    """A second process (this test) removes a member; the server, via Redis, cuts them off.

    This is also the cross-process proof: the "closed" event and the leave_room are
    emitted here and reach a client connected to the other process.
    """
    url = redis_url
    channel = f"rb-test-{uuid.uuid4().hex}"
    config = {
        "REDIS_URL": url,
        "RB_SOCKETIO_CHANNEL": channel,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    database = live_database(backend)
    space_id, room, tokens, ids = _seed(tmp_path, database, {})
    server = start_server(
        instance=tmp_path,
        database=database,
        extra_env={"REDIS_URL": url, "RB_SOCKETIO_CHANNEL": channel},
    )
    amara = bodil = None
    try:
        amara, bodil = connect(server, tokens["amara"]), connect(server, tokens["bodil"])
        amara.call("join", {"room_id": room, "after_seq": 0})
        bodil.call("join", {"room_id": room, "after_seq": 0})
        with seeding(tmp_path, database, **config):
            db.session.query(Membership).filter_by(account_id=ids["bodil"]).delete()
            db.session.commit()
            signals.member_removed.send(space_id, account_id=ids["bodil"])
        deadline = time.monotonic() + 10
        while not bodil.closed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bodil.closed and bodil.closed[0]["room_ids"] == [room]
        _send(amara, room, "not for bodil")
        time.sleep(1)
        assert bodil.heard == []
        assert bodil.call("join", {"room_id": room, "after_seq": 0})["ok"] is False
    finally:
        for person in (amara, bodil):
            if person is not None:
                person.client.disconnect()
        server.stop()
