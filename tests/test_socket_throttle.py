"""The per-socket token bucket (realtime/throttle.py): events past it get an immediate 429
ack, before the session re-check or any database work; each socket has its own bucket;
a disconnect forgets it."""

from __future__ import annotations

import pytest

from realtime import sockets
from realtime.namespace import ChatNamespace
from realtime.throttle import Throttle
from tests.support import Sock


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_refills_at_its_rate_and_never_past_its_burst():
    ticks = Ticks()
    bucket = Throttle(rate=2, burst=3, monotonic=ticks)
    assert [bucket.allow("a") for _ in range(3)] == [None, None, None]
    assert bucket.allow("a") == 1  # empty: half a second to the next token, said as 1 s
    assert bucket.allow("b") is None  # another socket has its own
    ticks.now += 0.5
    assert bucket.allow("a") is None
    assert bucket.allow("a") == 1
    ticks.now += 3600  # an hour idle refills to the burst, not beyond
    assert [bucket.allow("a") for _ in range(4)] == [None, None, None, 1]
    bucket.forget("a")
    bucket.forget("b")
    assert len(bucket) == 0
    with pytest.raises(ValueError):
        Throttle(rate=0, burst=1)


@pytest.fixture
def app_config() -> dict:
    return {"RB_SOCKET_RATE": 0.001, "RB_SOCKET_BURST": 5}


def test_events_past_the_bucket_get_a_429_ack_before_any_database_work(
    app, client, member, space, lounge, monkeypatch
):
    sock = Sock(app, client)
    answers = [sock.ack("heartbeat", {}) for _ in range(5)]
    assert all(a["ok"] for a in answers)

    def no_database(_sid):
        raise AssertionError("a throttled event reached the session re-check")

    monkeypatch.setattr(sockets, "current", no_database)
    for event in ("heartbeat", "send", "join", "dm_send", "watch_thread"):
        ack = sock.ack(event, {"room_id": lounge.id, "client_id": "x", "body": "hi"})
        assert ack["ok"] is False and ack["status"] == 429, (event, ack)
        assert ack["retry_after"] >= 1 and ack["error"]
    monkeypatch.undo()
    namespace = app.extensions["socketio"].server.namespace_handlers["/chat"]
    assert isinstance(namespace, ChatNamespace) and len(namespace.throttle) == 1
    sock.disconnect()
    assert len(namespace.throttle) == 0  # a disconnect forgets the socket's bucket
    again = Sock(app, client)  # a new connection starts with a full bucket
    assert again.ack("heartbeat", {})["ok"] is True
    again.disconnect()


def test_a_join_asked_for_at_connect_takes_a_token_like_the_join_event(
    app, client, member, space, lounge
):
    """The join in the handshake (``auth``) passes the same bucket as every event: it
    spends one of the socket's tokens, so four more events pass, then a 429."""
    sock = Sock(app, client, auth={"room_id": lounge.id, "after_seq": 0})
    (joined,) = sock.received("joined")
    assert joined["ok"] is True
    answers = [sock.ack("heartbeat", {}) for _ in range(5)]
    assert [a["ok"] for a in answers] == [True] * 4 + [False]
    assert answers[-1]["status"] == 429
