"""Expiry is visible everywhere, without JavaScript: every thread, post, chat message and list
row says when it will disappear, and every member (not only owners) sees the space's retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup

from forum import threads
from forum.extensions import db
from forum.models import Thread
from tests.factories import add_member
from tests.factories import make_message
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread
from tests.support import login
from tests.support import with_text


@pytest.fixture
def forum(make_account, client, clock):
    owner = make_account("Ownerv")
    member = make_account("Memberv")
    space = make_space("open", owner=owner, name="Visible")
    add_member(space, member)
    space.chat_retention_hours = 48
    space.post_retention_days = 30
    db.session.commit()
    t = make_thread(space, owner, title="first thread", body="opening words")
    clock.advance(days=2)
    threads.set_follow(member, t.id, True)
    reply = threads.reply(owner, t.id, body="a second post")
    make_thread(space, owner, title="second thread", body="more words")
    login(client, "Memberv")
    return owner, member, space, t, reply


def labels(html: str, selector: str) -> list[str]:
    """The server-rendered expiry label inside each element matching ``selector``."""
    soup = BeautifulSoup(html, "html.parser")
    rows = soup.select(selector)
    assert rows, f"no {selector} on the page"
    found = []
    for row in rows:
        label = row.select_one(".expires")
        assert label is not None, row
        found.append(label.get_text(strip=True))
    return found


def said(app, *when) -> list[str]:
    """What the app's own "disappears in" filter says for each time (the label's source)."""
    with app.test_request_context():
        return [app.jinja_env.filters["disappears_in"](w) for w in when]


def test_the_thread_and_each_post_say_when_they_disappear(app, client, forum, clock):
    _owner, _member, _space, t, reply = forum
    html = client.get(f"/t/{t.id}").get_data(as_text=True)
    post_labels = labels(html, "article.post")
    assert reply.expires_at == t.expires_at  # a reply never outlives its thread
    assert post_labels == said(app, t.expires_at, reply.expires_at)
    assert "28" in post_labels[0]
    soup = BeautifulSoup(html, "html.parser")
    thread_label = soup.select_one("h1 + p.meta .expires")
    assert [thread_label.get_text(strip=True)] == said(app, t.expires_at)
    assert thread_label["data-expires-at"] == t.expires_at.isoformat()


def test_every_list_row_says_when_it_disappears(app, client, forum, clock):
    _owner, _member, space, t, _reply = forum
    newer = with_text(Thread, "title", "second thread")[0]
    both = said(app, newer.expires_at, t.expires_at)
    assert both[0] != both[1]  # 30 days and 28 days: the rows carry their own times
    assert (
        labels(client.get(f"/s/{space.slug}").get_data(as_text=True), "ul.thread-list > li") == both
    )
    assert labels(
        client.get("/updates").get_data(as_text=True), "ul.thread-list > li[data-thread-id]"
    ) == [both[1]]
    assert (
        labels(client.get("/search?q=words").get_data(as_text=True), "ul.thread-list > li") == both
    )


def test_chat_messages_say_when_they_disappear(app, client, forum, clock):
    _owner, _member, space, _t, _reply = forum
    room = make_room(space)
    message = make_message(room, body="hello there")
    clock.advance(hours=1)
    html = client.get(f"/s/{space.slug}/chat/{room.id}").get_data(as_text=True)
    assert labels(html, "li.chat-msg") == said(app, message.expires_at)


def test_every_member_sees_the_spaces_retention(app, client, forum):
    _owner, _member, space, _t, _reply = forum
    html = client.get(f"/s/{space.slug}").get_data(as_text=True)
    line = BeautifulSoup(html, "html.parser").select_one("#retention").get_text(" ", strip=True)
    assert "chat messages disappear 2 days after they are sent" in line
    assert "threads and posts 30 days after they are written" in line
    assert "Change" not in line  # a member reads it; only owners get the settings
    assert client.get(f"/s/{space.slug}/retention").status_code in (403, 404)


def test_an_owner_gets_the_link_to_change_it(app, make_account, forum):
    _owner, _member, space, _t, _reply = forum
    owner_client = app.test_client()
    login(owner_client, "Ownerv")
    html = owner_client.get(f"/s/{space.slug}").get_data(as_text=True)
    assert f"/s/{space.id}/retention" in str(
        BeautifulSoup(html, "html.parser").select_one("#retention")
    )


@pytest.mark.parametrize("app_config", [{"RB_ALLOW_KEEP_POSTS": True}])
def test_a_space_that_keeps_posts_says_so(app, client, make_account, app_config):
    owner = make_account("Keeperv")
    space = make_space("open", owner=owner, name="Keeps")
    space.post_retention_days = None
    db.session.commit()
    t = make_thread(space, owner, title="kept thread", body="kept words")
    login(client, "Keeperv")
    assert labels(client.get(f"/t/{t.id}").get_data(as_text=True), "article.post") == [
        "kept until deleted"
    ]
    line = BeautifulSoup(
        client.get(f"/s/{space.slug}").get_data(as_text=True), "html.parser"
    ).select_one("#retention")
    assert "stay until their author or a moderator deletes them" in line.get_text(" ", strip=True)


def test_labels_follow_the_clock(app, client, forum, clock):
    _owner, _member, _space, t, _reply = forum
    clock.set(t.expires_at - timedelta(hours=5))
    login(client, "Memberv")  # the earlier session has been idle too long by now
    html = client.get(f"/t/{t.id}").get_data(as_text=True)
    assert labels(html, "article.post") == said(app, t.expires_at, t.expires_at)
    assert "5" in labels(html, "article.post")[0]
