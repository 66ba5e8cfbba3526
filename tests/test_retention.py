"""Retention per space: bounds, owners only, shorter-only for what exists, hostile input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from forum import retention
from forum import signals
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Post
from forum.models import Space
from forum.models import Thread
from realtime.models import ChatMessage
from tests.factories import add_member
from tests.factories import make_message
from tests.factories import make_post
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread
from tests.support import csrf_token
from tests.support import login
from tests.support import post


def reload(space: Space) -> Space:
    db.session.expire_all()
    return db.session.get(Space, space.id)


# --- New content follows the space's policy ---------------------------------------------------


def test_a_message_in_a_one_hour_room_expires_one_hour_ahead(app, clock):
    space = make_space(chat_retention_hours=1)
    message = make_message(make_room(space), body="hi")
    assert message.expires_at == clock.now() + timedelta(hours=1)


def test_a_post_never_outlives_its_thread(app, clock):
    space = make_space(post_retention_days=10)
    thread = make_thread(space)
    clock.advance(days=5)
    reply = make_post(thread, body="later")
    assert reply.expires_at == thread.expires_at == thread.created_at + timedelta(days=10)


@pytest.mark.parametrize("app_config", [{"RB_ENV": "test", "RB_TEST_CHAT_RETENTION_SECONDS": 5}])
def test_test_only_seconds_retention_outside_production(app, clock):
    message = make_message(make_room(make_space(chat_retention_hours=1)), body="brief")
    assert message.expires_at == clock.now() + timedelta(seconds=5)


@pytest.mark.parametrize(
    "app_config", [{"RB_ENV": "production", "RB_TEST_CHAT_RETENTION_SECONDS": 5}]
)
def test_production_ignores_the_test_only_seconds_retention(app, clock):
    message = make_message(make_room(make_space(chat_retention_hours=1)), body="kept an hour")
    assert message.expires_at == clock.now() + timedelta(hours=1)


@pytest.mark.parametrize(
    "app_config", [{"RB_CHAT_RETENTION_MAX_HOURS": 12, "RB_POST_RETENTION_MAX_DAYS": 30}]
)
def test_stored_values_are_clamped_to_todays_bounds(app, clock):
    space = make_space(
        chat_retention_hours=24, post_retention_days=90
    )  # set before the admin tightened the bounds
    assert retention.chat_hours(space) == 12
    assert retention.post_days(space) == 30
    assert retention.chat_expires_at(space, clock.now()) == clock.now() + timedelta(hours=12)


def test_keep_is_not_allowed_unless_the_admin_allows_it(app, clock):
    space = make_space(post_retention_days=None)
    assert retention.post_days(space) == app.config["RB_POST_RETENTION_MAX_DAYS"]


# --- Setting it: bounds and permissions ---------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "days"),
    [(0, 10), (721, 10), (24, 0), (24, 366), (-1, 10), (24, None), (24, "keep"), (24, "")],
)
def test_values_outside_the_bounds_are_refused(app, make_account, hours, days):
    owner = make_account()
    space = make_space(owner=owner)
    with pytest.raises(Invalid):
        retention.set_retention(owner, space, hours, days)
    space = reload(space)
    assert (space.chat_retention_hours, space.post_retention_days) == (24, 90)


@pytest.mark.parametrize("app_config", [{"RB_ALLOW_KEEP_POSTS": True}])
def test_keep_posts_when_the_admin_allows_it(app, make_account):
    owner = make_account()
    space = make_space(owner=owner)
    change = retention.set_retention(owner, space, 1, None)
    assert change.post_days is None and reload(space).post_retention_days is None


def test_bounds_are_inclusive(app, make_account):
    owner = make_account()
    space = make_space(owner=owner)
    assert retention.set_retention(owner, space, 1, 1).chat_hours == 1
    assert retention.set_retention(owner, space, 720, 365).post_days == 365


ROLES = ["owner", "moderator", "member", None]


@pytest.mark.parametrize("kind", ["open", "closed", "hidden"])
@pytest.mark.parametrize("role", ROLES)
def test_only_owners_may_set_retention(app, make_account, kind, role):
    owner, actor = make_account(), make_account()
    space = make_space(kind, owner=owner)
    if role:
        add_member(space, actor, role)
    if role == "owner":
        retention.set_retention(actor, space, 2, 3)
        assert reload(space).chat_retention_hours == 2
        return
    expected = NotFound if role is None and kind != "open" else Forbidden
    with pytest.raises(expected):
        retention.set_retention(actor, space, 2, 3)
    assert reload(space).chat_retention_hours == 24


def test_instance_admins_may_set_retention(app, make_account):
    owner, admin = make_account(), make_account(admin=True)
    space = make_space("hidden", owner=owner)
    retention.set_retention(admin, space, 5, 5)
    assert reload(space).chat_retention_hours == 5


# --- Existing content: shorter only ---------------------------------------------------------------


def test_a_shorter_policy_applies_to_existing_content_when_asked(app, clock, make_account):
    owner = make_account()
    space = make_space(owner=owner, chat_retention_hours=24, post_retention_days=90)
    room = make_room(space)
    old = make_message(room, body="old")
    thread = make_thread(space)
    clock.advance(days=3)
    reply = make_post(thread, body="reply")
    fresh = make_message(room, body="fresh")
    other = make_space(owner=owner, chat_retention_hours=24)
    untouched = make_message(make_room(other), body="elsewhere")
    ids = (old.id, fresh.id, thread.id, reply.id, untouched.id)
    received: list = []
    signals.retention_changed.connect(
        lambda sender, **kw: received.append((sender, kw)), weak=False
    )

    change = retention.set_retention(owner, space, 2, 5, apply_to_existing=True)

    db.session.expire_all()
    old, fresh, thread, reply, untouched = (
        db.session.get(ChatMessage, ids[0]),
        db.session.get(ChatMessage, ids[1]),
        db.session.get(Thread, ids[2]),
        db.session.get(Post, ids[3]),
        db.session.get(ChatMessage, ids[4]),
    )
    assert fresh.expires_at == fresh.created_at + timedelta(hours=2)
    assert old.expires_at == old.created_at + timedelta(hours=24)  # already expired: left alone
    assert thread.expires_at == thread.created_at + timedelta(days=5)
    assert reply.expires_at == thread.expires_at  # capped by its thread, not created_at + 5 days
    assert untouched.expires_at == untouched.created_at + timedelta(hours=24)
    assert change.shortened["chat"] == 1 and change.shortened["threads"] == 1
    assert (space.id, {"chat_hours": 2, "post_days": 5, "applied_to_existing": True}) in received


def test_a_longer_policy_never_lengthens_existing_content(app, clock, make_account):
    owner = make_account()
    space = make_space(owner=owner, chat_retention_hours=2, post_retention_days=5)
    message = make_message(make_room(space), body="short-lived")
    thread = make_thread(space)
    before = (message.expires_at, thread.expires_at)
    retention.set_retention(owner, space, 720, 365, apply_to_existing=True)
    db.session.expire_all()
    assert (
        db.session.get(ChatMessage, message.id).expires_at,
        db.session.get(Thread, thread.id).expires_at,
    ) == before


def test_without_apply_only_new_content_changes(app, clock, make_account):
    owner = make_account()
    space = make_space(owner=owner, chat_retention_hours=24)
    message = make_message(make_room(space), body="before")
    expires = message.expires_at
    retention.set_retention(owner, space, 1, 90)
    db.session.expire_all()
    assert db.session.get(ChatMessage, message.id).expires_at == expires


# --- A single thread's life -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["author", "moderator", "member", "stranger"])
def test_thread_lifetime_author_or_moderator_shorter_only(app, clock, make_account, who):
    owner, author, actor = make_account(), make_account(), make_account()
    space = make_space("closed", owner=owner, post_retention_days=30)
    add_member(
        space, author
    )  # a closed space: its threads are visible to members only, authors too
    thread = make_thread(space, author=author)
    reply = make_post(thread, author=author, body="reply")
    person = {"author": author, "moderator": actor, "member": actor, "stranger": actor}[who]
    if who in ("moderator", "member"):
        add_member(space, actor, who)
    if who in ("member", "stranger"):
        with pytest.raises(Forbidden if who == "member" else NotFound):
            retention.set_thread_lifetime(person, thread.id, 2)
        return
    with pytest.raises(Invalid):
        retention.set_thread_lifetime(person, thread.id, 31)  # longer: refused
    retention.set_thread_lifetime(person, thread.id, 2)
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).expires_at == thread.created_at + timedelta(days=2)
    assert db.session.get(Post, reply.id).expires_at == thread.created_at + timedelta(days=2)
    with pytest.raises(Invalid):
        retention.set_thread_lifetime(person, thread.id, 2)  # equal is not shorter


@pytest.mark.parametrize("days", [0, -3, "x", None, True, 10**9, "2 days"])
def test_thread_lifetime_hostile_days(app, make_account, days):
    owner = make_account()
    space = make_space(owner=owner)
    thread = make_thread(space, author=owner)
    with pytest.raises(Invalid):
        retention.set_thread_lifetime(owner, thread.id, days)


# --- The owner form -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "role", "status"),
    [
        ("open", "owner", 200),
        ("closed", "owner", 200),
        ("hidden", "owner", 200),
        ("open", "moderator", 403),
        ("closed", "member", 403),
        ("hidden", "member", 403),
        ("open", None, 403),
        ("closed", None, 404),
        ("hidden", None, 404),
    ],
)
def test_retention_page_permissions(app, client, make_account, kind, role, status):
    owner, actor = make_account(), make_account("Visitor")
    space = make_space(kind, owner=owner, slug="place")
    if role:
        add_member(space, actor, role)
    login(client, "Visitor")
    assert client.get("/s/place/retention").status_code == status
    response = client.post(
        "/s/place/retention",
        data={"csrf_token": csrf_token(client, "/account"), "chat_hours": "2", "post_days": "3"},
    )
    assert response.status_code == (303 if status == 200 else status)
    assert reload(space).chat_retention_hours == (2 if status == 200 else 24)


def test_retention_page_needs_sign_in_and_a_real_space(app, client, make_account):
    owner = make_account("Rosalind")
    make_space(owner=owner, slug="place")
    assert client.get("/s/place/retention").status_code == 302
    login(client, "Rosalind")
    assert client.get("/s/nowhere/retention").status_code == 404
    assert client.get("/s/" + "x" * 300 + "/retention").status_code == 404


def test_owner_saves_through_the_form(app, client, clock, make_account):
    owner = make_account("Rosalind")
    space = make_space(owner=owner, slug="place")
    message = make_message(make_room(space), body="hello")
    login(client, "Rosalind")
    page = client.get("/s/place/retention").get_data(as_text=True)
    assert 'name="chat_hours"' in page and 'value="24"' in page
    response = post(
        client, "/s/place/retention", {"chat_hours": "3", "post_days": "7", "apply": "1"}
    )
    assert response.status_code == 303
    space = reload(space)
    assert (space.chat_retention_hours, space.post_retention_days) == (3, 7)
    assert db.session.get(ChatMessage, message.id).expires_at == message.created_at + timedelta(
        hours=3
    )


HOSTILE = [
    "",
    " ",
    "abc",
    "12abc",
    "1e3",
    "0x10",
    "-5",
    "3.5",
    "١٢",
    "１２",
    "<script>alert(1)</script>",
    "9" * 5000,
    "12\x00",
    "\u202e12",
    "NaN",
    "None",
]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("field", ["chat_hours", "post_days"])
def test_hostile_form_input_is_a_clear_400_and_changes_nothing(
    app, client, make_account, field, value
):
    owner = make_account("Rosalind")
    space = make_space(owner=owner, slug="place")
    login(client, "Rosalind")
    form = {"chat_hours": "5", "post_days": "5", field: value}
    response = post(client, "/s/place/retention", form)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "must be" in text and "<script>alert" not in text
    space = reload(space)
    assert (space.chat_retention_hours, space.post_retention_days) == (24, 90)


def test_missing_csrf_is_refused(app, client, make_account):
    owner = make_account("Rosalind")
    space = make_space(owner=owner, slug="place")
    login(client, "Rosalind")
    response = client.post("/s/place/retention", data={"chat_hours": "2", "post_days": "2"})
    assert response.status_code == 400
    assert reload(space).chat_retention_hours == 24


@pytest.mark.parametrize("value", [True, 3.0, b"3", [3], {"h": 3}])
def test_wrong_types_from_other_adapters_are_invalid(app, make_account, value):
    owner = make_account()
    space = make_space(owner=owner)
    with pytest.raises(Invalid):
        retention.set_retention(owner, space, value, 5)
    with pytest.raises(Invalid):
        retention.set_retention(owner, space, 5, 5, apply_to_existing="yes")


@pytest.mark.parametrize(
    ("who", "days", "status"),
    [
        ("author", "2", 303),
        ("moderator", "2", 303),
        ("member", "2", 403),
        ("author", "400", 400),
        ("author", "99", 400),
        ("author", "<b>2</b>", 400),
        ("author", "", 400),
        ("outsider", "2", 404),
    ],
)
def test_thread_lifetime_form(app, client, make_account, clock, who, days, status):
    """The thread page's "disappear sooner" form: author or moderators, shorter only."""
    author, moderator, member, outsider = (
        make_account(n) for n in ("Writer", "Keeper", "Reader", "Stranger")
    )
    space = make_space("closed", owner=author, post_retention_days=30)
    add_member(space, moderator, "moderator")
    add_member(space, member)
    thread = make_thread(space, author=author)
    before = thread.expires_at
    login(
        client,
        {"author": "Writer", "moderator": "Keeper", "member": "Reader", "outsider": "Stranger"}[
            who
        ],
    )
    page = client.get(f"/t/{thread.id}")
    shown = "disappear sooner" in page.get_data(as_text=True)
    assert shown == (who in ("author", "moderator"))
    response = post(client, f"/t/{thread.id}/lifetime", {"days": days})
    assert response.status_code == status
    db.session.refresh(thread)
    if status == 303:
        assert thread.expires_at == thread.created_at + timedelta(days=2)
    else:
        assert thread.expires_at == before
