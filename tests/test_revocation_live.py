"""Revocation reaches live sockets at once, across processes (issue 16, item 4).

A real server (``python -m forum``, the default async mode) holds the sockets; this test process is
a second worker on the same database and the same Redis channel, and ends the rights
the way the site does (the service functions). For each cause (logout, passphrase
change, suspension, removal from the space) the victim's live connection must be cut
within seconds: afterwards no broadcast of the room reaches it and what it sends is
refused (a cut socket cannot reconnect with its old cookie; a removed member's socket
stays open for the rest of the site but every event for the space's room is refused).
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import socketio as sio

from forum import accounts
from forum import sessions
from forum.extensions import db
from forum.models import Account
from moderation import actions
from realtime.models import ChatMessage
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_message
from tests.factories import make_room
from tests.factories import make_space
from tests.live import Person
from tests.live import connect
from tests.live import live_database
from tests.live import seeding
from tests.live import start_server
from tests.support import PASSPHRASE
from tests.support import TEST_REDIS_URL
from tests.support import needs_service
from tests.support import reachable

pytestmark = [pytest.mark.server, pytest.mark.redis, pytest.mark.timeout(240)]

CAUSES = ("logout", "passphrase", "suspension", "removal")
AT_ONCE = 5.0  # seconds: "at once" on a loaded two-core machine, through Redis


def _redis_url() -> str:
    """conftest's ``redis_url`` check, for a module-scoped server."""

    def probe() -> None:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()

    ok, why = reachable(probe)
    needs_service("Redis", ok, why)
    return TEST_REDIS_URL


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, backend: str):
    redis_url = _redis_url()
    instance: Path = tmp_path_factory.mktemp("revocation")
    channel = f"rb-revoke-{uuid.uuid4().hex}"
    database = live_database(backend)
    config = {
        "REDIS_URL": redis_url,
        "RB_SOCKETIO_CHANNEL": channel,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    if database is not None:  # every seeding below writes to the server's database
        config["SQLALCHEMY_DATABASE_URI"] = database
    with seeding(instance, **config):
        admin = make_account("olu", admin=True, age=timedelta(days=30))
        space = make_space(owner=admin, slug="lounge")
        room = make_room(space)
        tokens, ids, messages = {}, {}, {}
        for alias in ("speaker", *CAUSES):  # one victim per cause, named after it
            account = make_account(f"{alias}kin", age=timedelta(days=10))
            add_member(space, account)
            _row, tokens[alias] = sessions.new_session(account)
            ids[alias] = account.id
            messages[alias] = make_message(room, account, f"a message by {alias}").id
        db.session.commit()
        seeded = {
            "room": room.id,
            "tokens": tokens,
            "ids": ids,
            "messages": messages,
            "admin": admin.id,
        }
    server = start_server(
        instance=instance,
        database=database,
        extra_env={
            "REDIS_URL": redis_url,
            "RB_SOCKETIO_CHANNEL": channel,
            "RB_LIMIT_CHAT": "100 per 10 seconds",
        },
    )
    yield server, instance, config, seeded
    server.stop()


def _revoke(cause: str, account_id: int, token: str, message_id: int, admin_id: int) -> None:
    """End the rights the way the site does, from this (other) process."""
    account = db.session.get(Account, account_id)
    admin = db.session.get(Account, admin_id)
    if cause == "logout":
        accounts.log_out(sessions.find_session(token))
    elif cause == "passphrase":
        session = sessions.find_session(token)
        new = "an entirely different long passphrase 42"
        accounts.change_passphrase(account, PASSPHRASE, new, new, session)
    elif cause == "suspension":
        actions.suspend(admin, "lounge", "chat", message_id, 7, "test")
    else:
        actions.remove_member(admin, "lounge", "chat", message_id, "test")


def _send(person: Person, room_id: int, body: str) -> dict:
    return person.call("send", {"room_id": room_id, "client_id": uuid.uuid4().hex, "body": body})


@pytest.mark.parametrize("cause", CAUSES)
def test_revocation_cuts_the_live_socket_at_once(world, cause: str):
    server, instance, config, seeded = world
    room, tokens = seeded["room"], seeded["tokens"]
    speaker, victim = connect(server, tokens["speaker"]), connect(server, tokens[cause])
    try:
        assert speaker.call("join", {"room_id": room, "after_seq": 10**9})["ok"]
        assert victim.call("join", {"room_id": room, "after_seq": 10**9})["ok"]
        before = _send(speaker, room, f"before {cause}")
        assert before["ok"], before
        assert len(victim.wait_for(1)) == 1  # the victim did hear the room until now

        with seeding(instance, **config):
            _revoke(
                cause,
                seeded["ids"][cause],
                tokens[cause],
                seeded["messages"][cause],
                seeded["admin"],
            )
        started = time.monotonic()
        deadline = started + AT_ONCE
        if cause == "removal":
            while not victim.closed and time.monotonic() < deadline:
                time.sleep(0.05)
            assert victim.closed and victim.closed[0]["room_ids"] == [room], (
                "no 'closed' within the time"
            )
        else:
            while victim.client.connected and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not victim.client.connected, f"socket still open {AT_ONCE}s after the {cause}"

        heard_before = len(victim.heard)
        for i in range(3):
            ack = _send(speaker, room, f"after {cause} {i}")
            assert ack["ok"], ack
        time.sleep(1.0)
        assert len(victim.heard) == heard_before == 1, "a broadcast reached a revoked socket"

        if cause == "removal":
            for event, data in (
                ("send", {"room_id": room, "client_id": "x1", "body": "still here?"}),
                ("join", {"room_id": room, "after_seq": 0}),
                ("history", {"room_id": room, "before_seq": 10**9}),
            ):
                ack = victim.call(event, data)
                assert ack["ok"] is False and ack["status"] in (403, 404), (event, ack)
        else:
            with pytest.raises(sio.exceptions.ConnectionError):
                connect(server, tokens[cause])
        with seeding(instance, **config):
            stored = (
                db.session.query(ChatMessage)
                .filter(ChatMessage.author_id == seeded["ids"][cause])
                .count()
            )
        assert stored == 1  # only the seeded one: nothing the victim tried after was stored
    finally:
        for person in (speaker, victim):
            if person.client.connected:
                person.client.disconnect()
