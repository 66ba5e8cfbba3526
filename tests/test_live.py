"""The live channel for forum pages: ``update`` for followers, thread pages' news, access.

Every event in realtime/push.py's forum section has a test here through the
Flask-SocketIO test client: who hears it, who must not, and hostile payloads.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import clock as clock_module
from forum import expiry
from forum import threads
from forum.extensions import db
from forum.models import Post
from forum.models import Thread
from moderation import actions
from moderation import blocks
from moderation.models import WatchWord
from realtime import live
from realtime import push
from realtime.watches import ThreadWatch
from tests.factories import add_member
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread
from tests.support import Sock
from tests.support import login
from tests.support import post
from tests.support import with_text


@pytest.fixture
def people(person):
    """Owner Olu (moderates), members Bodil and Cyd, and a signed-in client for each."""
    return {alias: person(alias) for alias in ("Olu", "Bodil", "Cyd", "Dee")}


def sock(app, people, alias) -> Sock:
    connected = Sock(app, people[alias][1])
    assert connected.connected
    return connected


def acct(people, alias):
    return people[alias][0]


@pytest.fixture
def open_space(people):
    space = make_space("open", owner=acct(people, "Olu"), name="Night shift")
    for alias in ("Bodil", "Cyd"):
        add_member(space, acct(people, alias))
    return space


@pytest.fixture
def closed_space(people):
    space = make_space("closed", owner=acct(people, "Olu"), name="Closed circle")
    for alias in ("Bodil", "Cyd"):
        add_member(space, acct(people, alias))
    return space


# --- update: the updates list ------------------------------------------------------------


def test_follower_online_gets_update_others_do_not(app, people, open_space):
    bodil, cyd, dee = acct(people, "Bodil"), acct(people, "Cyd"), acct(people, "Dee")
    topic = make_thread(open_space, bodil, title="Safe <b>venues</b> list")
    threads.set_follow(cyd, topic.id, True)
    b, c, d = sock(app, people, "Bodil"), sock(app, people, "Cyd"), sock(app, people, "Dee")
    add_member(open_space, dee)
    reply = threads.reply(dee, topic.id, body="A reply from Dee")
    assert c.received("update") == [
        {
            "thread_id": topic.id,
            "title": "Safe <b>venues</b> list",
            "space": "Night shift",
            "new_posts": 1,
        }
    ]
    assert b.received("update") == [
        push.update_payload(topic, open_space, 1)
    ]  # Bodil follows (started it)
    assert d.received("update") == []  # the author hears nothing of their own post
    threads.reply(bodil, topic.id, body="Bodil answers")
    assert b.received("update") == []  # the author again
    [second] = c.received("update")
    assert second["new_posts"] == 2  # Cyd has not opened the thread since
    assert reply.id


def test_update_respects_personal_blocks(app, people, open_space):
    bodil, cyd = acct(people, "Bodil"), acct(people, "Cyd")
    topic = make_thread(open_space, bodil)
    first = threads.reply(cyd, topic.id, body="Cyd posts once")
    blocks.block(bodil, "post", first.id)  # Bodil blocks Cyd
    b = sock(app, people, "Bodil")
    threads.reply(cyd, topic.id, body="Cyd posts again")
    assert b.received("update") == []


def test_update_needs_read_access_now(app, people, closed_space, make_account):
    """A follower removed from a closed space hears nothing more of its threads."""
    bodil, cyd = acct(people, "Bodil"), acct(people, "Cyd")
    topic = make_thread(closed_space, bodil)
    threads.set_follow(cyd, topic.id, True)
    c = sock(app, people, "Cyd")
    db.session.execute(sa.text("DELETE FROM memberships WHERE account_id = :a"), {"a": cyd.id})
    db.session.commit()
    threads.reply(acct(people, "Olu"), topic.id, body="Members only news")
    assert c.received("update") == []


# --- new_thread: a space's thread list ------------------------------------------------------


def test_new_thread_reaches_online_readers_of_its_space_only(app, people, open_space, closed_space):
    """The thread_created signal's receiver: open space, every online reader but the author
    and whoever blocked them; closed space, its members; a held thread, nobody."""
    bodil, cyd = acct(people, "Bodil"), acct(people, "Cyd")
    earlier = make_thread(open_space, bodil, title="Earlier")
    blocks.block(cyd, "thread", earlier.id)  # Cyd blocks Bodil
    b, c, d, o = (sock(app, people, alias) for alias in ("Bodil", "Cyd", "Dee", "Olu"))
    topic = make_thread(open_space, bodil, title="Open news")
    expected = [push.new_thread_payload(open_space.id, topic.id)]
    assert expected == [{"space_id": open_space.id, "thread_id": topic.id}]
    assert d.received("new_thread") == expected  # signed in, not a member: open spaces are read
    assert o.received("new_thread") == expected
    assert b.received("new_thread") == []  # the author
    assert c.received("new_thread") == []  # blocked the author

    inside = make_thread(closed_space, acct(people, "Olu"), title="Members only")
    assert d.received("new_thread") == []  # Dee may not read the closed space
    members_hear = [push.new_thread_payload(closed_space.id, inside.id)]
    assert b.received("new_thread") == c.received("new_thread") == members_hear
    assert o.received("new_thread") == []  # the author

    db.session.add(
        WatchWord(
            space_id=open_space.id,
            pattern="checkfirst",
            action="hold",
            created_at=clock_module.now(),
        )
    )
    db.session.commit()
    held = make_thread(open_space, bodil, title="checkfirst please")
    assert held.hidden_at is not None
    assert live.new_thread_audience(held.id) is None
    assert [r for s in (c, d, o) for r in s.received("new_thread")] == []


def test_the_space_page_takes_new_threads_live(app, people, open_space):
    page = people["Cyd"][1].get(f"/s/{open_space.slug}").get_data(as_text=True)
    assert f'data-live-space="{open_space.id}"' in page and "js/live." in page
    later = people["Cyd"][1].get(f"/s/{open_space.slug}?page=2").get_data(as_text=True)
    assert "data-live-space" not in later


def test_offline_follower_and_non_follower_get_nothing(app, people, open_space):
    bodil, cyd = acct(people, "Bodil"), acct(people, "Cyd")
    topic = make_thread(open_space, bodil)
    dee = sock(app, people, "Dee")  # online, follows nothing
    found = live.update_audience(threads.reply(cyd, topic.id, body="hello").id)
    assert [f.account_id for f in found[2]] == []  # Bodil follows but has no socket
    assert dee.received("update") == []


def test_hidden_reply_tells_nobody(app, people, open_space, monkeypatch):
    bodil, cyd = acct(people, "Bodil"), acct(people, "Cyd")
    topic = make_thread(open_space, bodil)
    b = sock(app, people, "Bodil")
    assert b.watch(topic.id)["ok"]
    reply = threads.reply(cyd, topic.id, body="soon hidden")
    b.received()
    reply.hidden_at = clock_module.now()
    db.session.commit()
    push.on_post_created(reply.id)
    assert b.received() == []


def test_update_audience_is_one_query_however_many_followers(app, people, open_space, make_account):
    bodil = acct(people, "Bodil")
    topic = make_thread(open_space, bodil)
    sockets_kept = []
    for n in range(6):
        account = make_account(f"follower{n}")
        other = app.test_client()
        login(other, account.alias)
        threads.set_follow(account, topic.id, True)
        sockets_kept.append(Sock(app, other))
        assert sockets_kept[-1].connected
    reply = threads.reply(acct(people, "Cyd"), topic.id, body="for everyone")
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        _thread, _space, followers = live.update_audience(reply.id)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(followers) == 6
    follower_queries = [s for s in statements if "thread_follows" in s]
    assert len(follower_queries) == 1
    assert len(statements) <= 4  # the post, its thread, its space, the followers


def test_a_failing_receiver_never_fails_the_reply(app, people, open_space, monkeypatch):
    bodil = acct(people, "Bodil")
    topic = make_thread(open_space, bodil)
    client = people["Cyd"][1]

    def broken(_post_id):
        raise RuntimeError("database went away")

    monkeypatch.setattr(live, "update_audience", broken)
    response = post(client, f"/t/{topic.id}/reply", {"body": "still stored"})
    assert response.status_code == 303
    assert len(with_text(Post, "body", "still stored")) == 1


# --- watch_thread: who may watch -----------------------------------------------------------


KIND_ROLE = [
    ("open", "member", True),
    ("open", "nonmember", True),
    ("open", "admin", True),
    ("closed", "member", True),
    ("closed", "nonmember", False),
    ("closed", "admin", True),
    ("hidden", "member", True),
    ("hidden", "nonmember", False),
    ("hidden", "admin", True),
]


@pytest.mark.parametrize(("kind", "role", "allowed"), KIND_ROLE)
def test_watch_thread_access_matrix(app, people, kind, role, allowed):
    olu, dee = acct(people, "Olu"), acct(people, "Dee")
    space = make_space(kind, owner=olu, name=f"{kind} place")
    if role == "member":
        add_member(space, dee)
    elif role == "admin":
        dee.is_admin = True
        db.session.commit()
    topic = make_thread(space, olu)
    d = sock(app, people, "Dee")
    ack = d.watch(topic.id)
    missing = d.watch(10**6)
    assert missing == {"ok": False, "error": "We could not find that page.", "status": 404}
    if allowed:
        assert ack == {"ok": True, "thread_id": topic.id}
        assert db.session.get(ThreadWatch, (_sid_of(dee), topic.id)) is not None
    else:
        assert ack == missing  # exactly as for a thread that does not exist
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ThreadWatch)) == 0


def _sid_of(account) -> str:
    return db.session.scalar(
        sa.text("SELECT sid FROM chat_sockets WHERE account_id = :a"), {"a": account.id}
    )


def test_hidden_thread_is_not_watchable_by_members(app, people, open_space):
    olu, bodil = acct(people, "Olu"), acct(people, "Bodil")
    topic = make_thread(open_space, bodil)
    actions.hide(olu, open_space.slug, "thread", topic.id, "off topic")
    assert sock(app, people, "Cyd").watch(topic.id)["status"] == 404
    assert sock(app, people, "Olu").watch(topic.id)["ok"]  # moderators still see it


@pytest.mark.parametrize(
    "payload",
    [
        {"thread_id": "1"},
        {"thread_id": True},
        {"thread_id": 2**70},
        {"thread_id": -1},
        {"thread_id": 0},
        {"thread_id": None},
        {"thread_id": [1]},
        {"thread_id": {"$gt": 0}},
        {"thread_id": 1.0},
        {},
        {"thread_id": "1 OR 1=1"},
        {"thread_id": "\u202e1"},
    ],
)
def test_watch_thread_hostile_payloads_are_404(app, people, open_space, payload):
    make_thread(open_space, acct(people, "Bodil"))
    ack = sock(app, people, "Cyd").ack("watch_thread", payload)
    assert ack == {"ok": False, "error": "We could not find that page.", "status": 404}


@pytest.mark.parametrize("payload", ["1", 1, [1], "x" * 10_000])
def test_watch_thread_wrong_shape_is_400(app, people, payload):
    ack = sock(app, people, "Cyd").ack("watch_thread", payload)
    assert ack["ok"] is False and ack["status"] == 400


def test_watch_thread_limit_per_socket(app, people, open_space):
    bodil = acct(people, "Bodil")
    ids = [make_thread(open_space, bodil, title=f"t{n}").id for n in range(7)]
    c = sock(app, people, "Cyd")
    acks = [c.watch(i) for i in ids]
    assert [a["ok"] for a in acks] == [True] * 5 + [False] * 2
    assert acks[5]["status"] == 400
    assert c.watch(ids[0])["ok"]  # watching again what it already watches is fine
    assert c.ack("unwatch_thread", {"thread_id": ids[0]}) == {"ok": True}
    assert c.watch(ids[5])["ok"]


def test_watch_thread_rechecks_the_session(app, people, open_space):
    topic = make_thread(open_space, acct(people, "Bodil"))
    c = sock(app, people, "Cyd")
    db.session.execute(
        sa.text("DELETE FROM auth_sessions WHERE account_id = :a"), {"a": acct(people, "Cyd").id}
    )
    db.session.commit()
    ack = c.watch(topic.id)
    assert ack["ok"] is False and ack["status"] == 401


# --- thread pages: what watchers hear --------------------------------------------------------


@pytest.fixture
def watched(app, people, open_space):
    """Bodil's thread with a reply by Cyd; Dee (not a member of the open space) watches it."""
    bodil, cyd = acct(people, "Bodil"), acct(people, "Cyd")
    topic = make_thread(open_space, bodil)
    reply = threads.reply(cyd, topic.id, body="Cyd's reply")
    d = sock(app, people, "Dee")
    assert d.watch(topic.id)["ok"]
    d.received()
    return topic, reply, d


def test_new_reply_reaches_watchers_but_not_the_author_or_blockers(app, people, watched):
    topic, reply, dee = watched
    cyd = sock(app, people, "Cyd")
    assert cyd.watch(topic.id)["ok"]
    new = threads.reply(acct(people, "Cyd"), topic.id, body="another")
    assert dee.received("new_reply") == [{"thread_id": topic.id, "post_id": new.id, "page": 1}]
    assert cyd.received("new_reply") == []
    blocks.block(acct(people, "Dee"), "post", reply.id)  # Dee blocks Cyd
    threads.reply(acct(people, "Cyd"), topic.id, body="and more")
    assert dee.received("new_reply") == []


def test_new_reply_page_is_the_last_page(app, people, watched, monkeypatch):
    topic, _reply, dee = watched
    assert live.POSTS_PER_PAGE == threads.POSTS_PER_PAGE
    monkeypatch.setattr(live, "POSTS_PER_PAGE", 2)
    new = threads.reply(acct(people, "Bodil"), topic.id, body="third post")
    assert dee.received("new_reply") == [{"thread_id": topic.id, "post_id": new.id, "page": 2}]


def test_moderator_hide_removes_the_post_live(app, people, watched):
    topic, reply, dee = watched
    actions.hide(acct(people, "Olu"), topic.space.slug, "post", reply.id, "personal info")
    assert dee.received("posts_removed") == [{"thread_id": topic.id, "post_ids": [reply.id]}]


def test_moderator_delete_removes_the_post_live(app, people, watched):
    topic, reply, dee = watched
    actions.delete(acct(people, "Olu"), topic.space.slug, "post", reply.id, "spam")
    assert dee.received("posts_removed") == [{"thread_id": topic.id, "post_ids": [reply.id]}]


def test_moderator_delete_of_a_thread_says_gone_and_closes_the_room(app, people, watched):
    topic, _reply, dee = watched
    topic_id = topic.id
    actions.delete(acct(people, "Olu"), topic.space.slug, "thread", topic_id, "spam")
    assert dee.received("thread_gone") == [{"thread_id": topic_id, "reason": push.GONE}]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ThreadWatch)) == 0


def test_moderator_hide_of_a_thread_says_gone(app, people, watched):
    topic, _reply, dee = watched
    actions.hide(acct(people, "Olu"), topic.space.slug, "thread", topic.id, "")
    assert dee.received("thread_gone") == [{"thread_id": topic.id, "reason": push.GONE}]
    threads.reply(acct(people, "Olu"), topic.id, body="moderators talk in a hidden thread")
    assert dee.received() == []  # out of the room


def test_author_deleting_a_reply_removes_it_live(app, people, watched):
    topic, reply, dee = watched
    threads.delete_post(acct(people, "Cyd"), reply.id)
    assert dee.received("posts_removed") == [{"thread_id": topic.id, "post_ids": [reply.id]}]


def test_author_erasing_a_first_post_marks_it_changed(app, people, watched):
    topic, _reply, dee = watched
    first = db.session.scalar(
        sa.select(Post).where(Post.thread_id == topic.id, Post.is_first.is_(True))
    )
    threads.delete_post(acct(people, "Bodil"), first.id)
    assert dee.received("post_changed") == [{"thread_id": topic.id, "post_id": first.id}]


def test_author_deleting_the_only_post_deletes_the_thread_live(app, people, open_space):
    topic = make_thread(open_space, acct(people, "Bodil"))
    d = sock(app, people, "Dee")
    assert d.watch(topic.id)["ok"]
    first = db.session.scalar(sa.select(Post).where(Post.thread_id == topic.id))
    threads.delete_post(acct(people, "Bodil"), first.id)
    assert d.received("thread_gone") == [{"thread_id": topic.id, "reason": push.GONE}]


def test_edit_and_redaction_mark_the_post_changed(app, people, watched):
    topic, reply, dee = watched
    threads.edit_post(acct(people, "Cyd"), reply.id, body="Cyd's edited reply")
    assert dee.received("post_changed") == [{"thread_id": topic.id, "post_id": reply.id}]
    actions.redact(acct(people, "Olu"), topic.space.slug, "post", reply.id, "Cyd's [removed] reply")
    assert dee.received("post_changed") == [{"thread_id": topic.id, "post_id": reply.id}]
    actions.redact(acct(people, "Olu"), topic.space.slug, "thread", topic.id, "A [removed] thread")
    assert dee.received("post_changed") == [{"thread_id": topic.id, "post_id": None}]


def test_expired_posts_and_threads_leave_every_open_page(app, people, watched, clock):
    topic, reply, dee = watched
    other = make_thread(topic.space, acct(people, "Bodil"), title="Other")
    assert dee.watch(other.id)["ok"]
    topic_id, reply_id, other_id = topic.id, reply.id, other.id
    reply.expires_at = clock.now() - timedelta(seconds=1)
    db.session.commit()
    expiry.delete_expired(clock.now())
    assert dee.received("posts_removed") == [{"thread_id": topic_id, "post_ids": [reply_id]}]
    gone = db.session.get(Thread, other_id)
    gone.expires_at = clock.now() - timedelta(seconds=1)
    db.session.execute(
        sa.update(Post).where(Post.thread_id == other_id).values(expires_at=gone.expires_at)
    )
    db.session.commit()
    expiry.delete_expired(clock.now())
    assert dee.received("thread_gone") == [{"thread_id": other_id, "reason": push.GONE}]
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(ThreadWatch)) == 1
    )  # the first thread's


# --- losing access ---------------------------------------------------------------------------


def test_member_removal_stops_thread_events(app, people, closed_space):
    olu, cyd = acct(people, "Olu"), acct(people, "Cyd")
    topic = make_thread(closed_space, olu)
    reply = threads.reply(cyd, topic.id, body="Cyd was here")
    c, b = sock(app, people, "Cyd"), sock(app, people, "Bodil")
    assert c.watch(topic.id)["ok"] and b.watch(topic.id)["ok"]
    actions.remove_member(olu, closed_space.slug, "post", reply.id, "rules")
    assert c.received("thread_gone") == [{"thread_id": topic.id, "reason": push.NOT_MEMBER}]
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ThreadWatch)
            .where(ThreadWatch.thread_id == topic.id)
        )
        == 1
    )  # Bodil's
    threads.reply(olu, topic.id, body="after Cyd left")
    assert c.received() == []
    assert [e["thread_id"] for e in b.received("new_reply")] == [topic.id]
    assert c.watch(topic.id)["status"] == 404


def test_leaving_a_closed_space_stops_thread_events(app, people, closed_space):
    olu = acct(people, "Olu")
    topic = make_thread(closed_space, olu)
    c = sock(app, people, "Cyd")
    assert c.watch(topic.id)["ok"]
    post(people["Cyd"][1], f"/s/{closed_space.slug}/leave", {})
    assert c.received("thread_gone") == [{"thread_id": topic.id, "reason": push.NOT_MEMBER}]
    threads.reply(olu, topic.id, body="after leaving")
    assert c.received() == []


def test_leaving_an_open_space_keeps_reading(app, people, open_space):
    olu = acct(people, "Olu")
    topic = make_thread(open_space, olu)
    c = sock(app, people, "Cyd")
    assert c.watch(topic.id)["ok"]
    post(people["Cyd"][1], f"/s/{open_space.slug}/leave", {})
    assert c.received("thread_gone") == []
    threads.reply(olu, topic.id, body="open spaces stay readable")
    assert len(c.received("new_reply")) == 1


def test_disconnect_and_logout_drop_the_watch_records(app, people, open_space):
    topic = make_thread(open_space, acct(people, "Olu"))
    c = sock(app, people, "Cyd")
    assert c.watch(topic.id)["ok"]
    c.disconnect()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ThreadWatch)) == 0
    d = sock(app, people, "Dee")
    assert d.watch(topic.id)["ok"]
    post(people["Dee"][1], "/logout", {})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ThreadWatch)) == 0


# --- pages ------------------------------------------------------------------------------------


def test_thread_page_carries_live_hooks_and_scripts(app, people, watched):
    topic, reply, _dee = watched
    page = people["Cyd"][1].get(f"/t/{topic.id}").get_data(as_text=True)
    assert f'data-post-id="{reply.id}"' in page
    assert re.search(rf'data-post-id="{reply.id}" data-expires-at="\d{{4}}-\d\d-\d\dT[^"]+"', page)
    assert f'data-live-thread="{topic.id}"' in page
    assert "js/live." in page and "js/expiry." in page and "socket.io.min." in page


def test_home_and_updates_pages_take_live_updates(app, people, open_space):
    client = people["Cyd"][1]
    for path in ("/", "/updates"):
        page = client.get(path).get_data(as_text=True)
        assert "data-live-updates" in page and "js/live." in page
    assert "data-live-updates" not in client.get("/updates?page=2").get_data(as_text=True)
    assert 'data-live-max="5"' in client.get("/").get_data(as_text=True)


def test_signed_out_pages_and_chat_rooms_do_not_load_live_js(app, client, people, open_space):
    assert "js/live." not in client.get("/").get_data(as_text=True)
    room = make_room(open_space)
    page = people["Cyd"][1].get(f"/s/{open_space.slug}/chat/{room.id}").get_data(as_text=True)
    assert "js/chat." in page and "js/live." not in page  # one connection per page: chat.js's


def test_live_js_stores_nothing_and_builds_no_html():
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / "static" / "js" / "live.js").read_text()
    code = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)
    for banned in (
        "localStorage",
        "sessionStorage",
        "indexedDB",
        "document.cookie",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ):
        assert banned not in code, banned


def test_watch_thread_is_rate_limited_per_account(app, people, open_space, monkeypatch):
    topic = make_thread(open_space, acct(people, "Bodil"))
    monkeypatch.setattr(live, "WATCH_RATE", "3 per minute")
    c = sock(app, people, "Cyd")
    acks = [c.watch(topic.id) for _ in range(4)]
    assert [a["ok"] for a in acks] == [True, True, True, False]
    assert acks[3]["status"] == 429 and acks[3]["retry_after"] >= 1
    assert sock(app, people, "Dee").watch(topic.id)["ok"]  # per account, not global
