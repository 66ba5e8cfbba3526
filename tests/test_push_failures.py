"""A live push that fails after the commit never turns a stored message into a failure.

The message is stored and acked ok; the client therefore does not resend it, and if
it does (a slow ack, a second tab) the same ``client_id`` stores nothing new.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from blinker import NamedSignal

from forum import signals
from forum.extensions import db
from forum.extensions import socketio
from realtime import push
from realtime import sockets
from realtime.models import ChatMessage
from tests.factories import add_member
from tests.factories import make_room
from tests.factories import make_space
from tests.support import post


def stored() -> list[tuple[int, str, str]]:
    return list(
        db.session.execute(sa.select(ChatMessage.seq, ChatMessage.client_id, ChatMessage.body))
    )


@pytest.fixture
def room(member):
    space = make_space(slug="lounge")
    add_member(space, member)
    return make_room(space)


def _boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("the message queue is down")


def test_a_failing_push_still_acks_the_stored_message_once(socket, room, monkeypatch):
    sock = socket()
    assert sock.ack("join", {"room_id": room.id})["ok"]
    monkeypatch.setattr(socketio, "emit", _boom)
    send = {"room_id": room.id, "client_id": "client-push-1", "body": "still here"}
    first = sock.ack("send", send)
    assert first["ok"] is True and first["seq"] == 1, first
    assert stored() == [(1, "client-push-1", "still here")]
    again = sock.ack("send", send)  # the client never needs to, but a resend is harmless
    assert again == first
    assert stored() == [(1, "client-push-1", "still here")]
    # The next message gets the next number: nothing was half-done.
    assert sock.ack("send", {**send, "client_id": "client-push-2"})["seq"] == 2


def test_a_failing_audience_lookup_stores_nothing_and_the_retry_stores_once(
    socket, room, monkeypatch
):
    """Who blocked the name is read in the send's transaction, before its write: when
    that read fails, the send fails whole (never a broadcast to people who blocked the
    name, never a stored message its ack calls a failure), and the client's retry with
    the same ``client_id`` stores it once."""
    sock = socket()
    assert sock.ack("join", {"room_id": room.id})["ok"]
    send = {"room_id": room.id, "client_id": "client-push-3", "body": "still here"}
    with monkeypatch.context() as broken:
        broken.setattr(sockets, "sids_blocking", _boom)
        failed = sock.ack("send", send)
    assert failed["ok"] is False and failed["status"] == 500, failed
    assert stored() == []
    retried = sock.ack("send", send)
    assert retried["ok"] is True and retried["seq"] == 1, retried
    assert sock.ack("send", send) == retried
    assert stored() == [(1, "client-push-3", "still here")]


def test_a_failing_push_still_stores_a_form_post(app, client, room, monkeypatch):
    """Without JavaScript: the page answers 303 (not 500) and the message is there once."""
    monkeypatch.setattr(push, "message_payload", _boom)
    response = post(
        client, f"/s/lounge/chat/{room.id}", {"body": "by form", "client_id": "client-form-9"}
    )
    assert response.status_code == 303
    assert stored() == [(1, "client-form-9", "by form")]


def test_every_push_receiver_is_wrapped(app):
    """Each receiver realtime connects to a business signal swallows and logs its failures."""
    connected = [
        receiver
        for name in dir(signals)
        if isinstance(getattr(signals, name), NamedSignal)
        for receiver in getattr(signals, name).receivers_for(object())
        if getattr(receiver, "__module__", "") == push.__name__
    ]
    assert len(connected) >= 20
    assert [r.__name__ for r in connected if not hasattr(r, "__wrapped__")] == []


def test_a_wrapped_receiver_logs_instead_of_raising(app, caplog, monkeypatch):
    monkeypatch.setattr(socketio, "emit", _boom)
    push.on_room_changed(type("Room", (), {"id": 1, "name": "x", "archived_at": None})())
    assert "on_room_changed failed: RuntimeError" in caplog.text
