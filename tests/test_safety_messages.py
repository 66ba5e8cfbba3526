"""Direct messages between buddies: stored then acked, live to the other side only,
idempotent retries, expiry, flags and blocks, gone with the pairing or an account."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from forum import accounts
from forum import expiry
from forum.extensions import db
from forum.safety import buddies
from forum.safety.models import DirectMessage
from moderation.models import Flag
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_space
from tests.support import PASSPHRASE
from tests.support import Sock
from tests.support import login
from tests.support import post


@pytest.fixture
def app_config() -> dict:
    return {"RB_LIMIT_LOGIN": "1000 per hour"}


def as_user(app, alias):
    cache = app.extensions.setdefault("test_clients", {})
    if alias not in cache:
        cache[alias] = app.test_client()
        login(cache[alias], alias)
    return cache[alias]


@pytest.fixture
def pair(app, clock):
    space = make_space("open", slug="hub", name="Hub")
    people = {name: make_account(name) for name in ("Ana", "Bea", "Cai")}
    for name in people:
        add_member(space, people[name])
    row = buddies.ask(people["Ana"], "hub", "Bea")
    buddies.accept(people["Bea"], row.id)
    return space, people, row


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(DirectMessage))


def test_stored_then_acked_live_to_the_other_only_and_idempotent(app, pair):
    _space, _people, row = pair
    ana, bea, cai = (Sock(app, as_user(app, name)) for name in ("Ana", "Bea", "Cai"))
    for sock in (ana, bea, cai):
        sock.received()
    ack = ana.ack(
        "dm_send", {"buddy_id": row.id, "client_id": "abcdefgh1234", "body": "Home safe?"}
    )
    assert ack["ok"] and ack["message"]["body"] == "Home safe?" and count() == 1
    again = ana.ack(
        "dm_send", {"buddy_id": row.id, "client_id": "abcdefgh1234", "body": "Home safe?"}
    )
    assert (
        again["message"]["id"] == ack["message"]["id"] and count() == 1
    )  # a retry, not a second message
    assert [m["body"] for m in bea.received("dm")] == ["Home safe?"]
    assert ana.received("dm") == [] and cai.received("dm") == []
    history = bea.ack("dm_history", {"buddy_id": row.id, "after_id": 0})
    assert [m["id"] for m in history["messages"]] == [ack["message"]["id"]]
    assert cai.ack("dm_history", {"buddy_id": row.id, "after_id": 0})["status"] == 404
    assert (
        cai.ack("dm_send", {"buddy_id": row.id, "client_id": "zzzzzzzz9999", "body": "hi"})[
            "status"
        ]
        == 404
    )


def test_without_javascript(app, pair):
    _space, _people, row = pair
    page = as_user(app, "Ana").get(f"/buddies/{row.id}/messages")
    assert page.status_code == 200
    response = post(
        as_user(app, "Ana"),
        f"/buddies/{row.id}/messages",
        {"client_id": "nojsclient01", "body": "hello"},
    )
    assert response.status_code == 303
    assert "hello" in as_user(app, "Bea").get(f"/buddies/{row.id}/messages").get_data(as_text=True)
    assert as_user(app, "Cai").get(f"/buddies/{row.id}/messages").status_code == 404


def test_nothing_before_yes(app, clock):
    space = make_space("open", slug="hub", name="Hub")
    ana, bea = make_account("Ana"), make_account("Bea")
    add_member(space, ana)
    add_member(space, bea)
    row = buddies.ask(ana, "hub", "Bea")
    sock = Sock(app, as_user(app, "Ana"))
    assert (
        sock.ack("dm_send", {"buddy_id": row.id, "client_id": "abcdefgh1234", "body": "hi"})[
            "status"
        ]
        == 404
    )
    assert count() == 0


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"buddy_id": "1"},
        {"buddy_id": True, "client_id": "abcdefgh1234", "body": "x"},
        {"buddy_id": 1, "client_id": "short", "body": "x"},
        {"buddy_id": 1, "client_id": "abcdefgh1234", "body": ""},
        {"buddy_id": 1, "client_id": "abcdefgh1234", "body": "x" * 3000},
        {"buddy_id": 1, "client_id": "abcdefgh1234", "body": 5},
        {"buddy_id": 2**70, "client_id": "abcdefgh1234"},
    ],
)
def test_hostile_events_get_a_clear_4xx(app, pair, data):
    ack = Sock(app, as_user(app, "Ana")).ack("dm_send", data)
    assert ack["ok"] is False and 400 <= ack["status"] < 500
    history = Sock(app, as_user(app, "Ana")).ack("dm_history", {"buddy_id": 1, "after_id": "x"})
    assert history["ok"] is False and 400 <= history["status"] < 500


def test_messages_expire_and_either_side_can_shorten(app, pair, clock):
    _space, _people, row = pair
    Sock(app, as_user(app, "Ana")).ack(
        "dm_send", {"buddy_id": row.id, "client_id": "abcdefgh0001", "body": "a"}
    )
    assert post(as_user(app, "Bea"), f"/buddies/{row.id}/hours", {"hours": "24"}).status_code == 303
    assert (
        post(as_user(app, "Ana"), f"/buddies/{row.id}/hours", {"hours": "168"}).status_code == 400
    )  # never longer
    Sock(app, as_user(app, "Ana")).ack(
        "dm_send", {"buddy_id": row.id, "client_id": "abcdefgh0002", "body": "b"}
    )
    clock.advance(hours=25)
    assert expiry.delete_expired(clock.now())["direct_messages"] == 1
    clock.advance(days=7)
    app.extensions["test_clients"].clear()
    assert expiry.delete_expired(clock.now())["direct_messages"] == 1
    assert count() == 0


def test_flag_goes_to_the_shared_space_and_block_stops_everything(app, pair):
    _space, _people, row = pair
    sent = Sock(app, as_user(app, "Ana")).ack(
        "dm_send", {"buddy_id": row.id, "client_id": "abcdefgh0001", "body": "creepy words"}
    )
    message_id = sent["message"]["id"]
    assert (
        post(as_user(app, "Cai"), f"/flag/dm/{message_id}", {"reason": "spam"}).status_code == 404
    )
    assert (
        post(as_user(app, "Ana"), f"/flag/dm/{message_id}", {"reason": "spam"}).status_code == 403
    )  # own
    assert (
        post(as_user(app, "Bea"), f"/flag/dm/{message_id}", {"reason": "harassment"}).status_code
        == 303
    )
    assert db.session.scalars(sa.select(Flag)).one().target_kind == "dm"
    assert post(as_user(app, "Bea"), f"/block/dm/{message_id}").status_code == 303
    page = as_user(app, "Bea").get(f"/buddies/{row.id}/messages").get_data(as_text=True)
    assert "creepy words" not in page
    again = Sock(app, as_user(app, "Ana")).ack(
        "dm_send", {"buddy_id": row.id, "client_id": "abcdefgh0002", "body": "hello?"}
    )
    assert again["status"] == 404 and count() == 1


def test_gone_with_the_pairing_and_with_either_account(app, pair):
    _space, people, row = pair
    Sock(app, as_user(app, "Ana")).ack(
        "dm_send", {"buddy_id": row.id, "client_id": "abcdefgh0001", "body": "x"}
    )
    accounts.delete_account(people["Bea"], PASSPHRASE)
    db.session.commit()
    assert count() == 0
    row2 = buddies.ask(people["Ana"], "hub", "Cai")
    buddies.accept(people["Cai"], row2.id)
    Sock(app, as_user(app, "Cai")).ack(
        "dm_send", {"buddy_id": row2.id, "client_id": "abcdefgh0002", "body": "y"}
    )
    assert count() == 1
    assert post(as_user(app, "Ana"), f"/buddies/{row2.id}/end").status_code == 303
    assert count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/buddies/99999999999999999999999/messages",
        "/checkin/alert/99999999999999999999999",
        "/reports/99999999999999999999999",
    ],
)
def test_huge_ids_in_urls_are_missing_not_errors(app, pair, path):
    assert as_user(app, "Ana").get(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/buddies/99999999999999999999999/accept",
        "/buddies/99999999999999999999999/end",
        "/checkin/99999999999999999999999/safe",
        "/reports/99999999999999999999999/approve",
        "/flag/dm/99999999999999999999999",
        "/flag/report/99999999999999999999999",
    ],
)
def test_huge_ids_in_forms_are_missing_not_errors(app, pair, path):
    assert post(as_user(app, "Ana"), path, {"reason": "spam"}).status_code == 404
