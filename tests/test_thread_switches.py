"""Pin and lock are moderation actions: moderators only, each change one line in the
space's moderation log, written with the change; nobody else changes or logs anything.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from forum import threads
from forum.errors import Forbidden
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Thread
from moderation import actions
from moderation.models import ModAction
from tests.factories import add_member
from tests.factories import make_space
from tests.support import post
from tests.support import signed_in


@pytest.fixture
def den(app, make_account):
    """A closed space: Mina moderates, Wren wrote a thread, Rhea is a member; Fred is outside."""
    space = make_space("closed", slug="den")
    people = {alias: make_account(alias) for alias in ("Mina", "Wren", "Rhea", "Fred")}
    add_member(space, people["Mina"], role="moderator")
    add_member(space, people["Wren"])
    add_member(space, people["Rhea"])
    thread = threads.create_thread(people["Wren"], "den", title="Heated", body="words")
    return space, thread, people


def log_lines() -> list[tuple[str, str, int]]:
    return [
        (row.action, row.target_kind, row.target_id)
        for row in db.session.scalars(sa.select(ModAction).order_by(ModAction.id))
    ]


def test_the_page_buttons_change_and_log(app, den):
    _space, thread, _people = den
    mina = signed_in(app, "Mina")
    for path, on in (("pin", "1"), ("pin", "1"), ("lock", "1"), ("lock", "0"), ("pin", "0")):
        assert post(mina, f"/t/{thread.id}/{path}", {"on": on}).status_code == 303
    assert log_lines() == [
        ("pin", "thread", thread.id),
        ("lock", "thread", thread.id),
        ("unlock", "thread", thread.id),
        ("unpin", "thread", thread.id),
    ]
    db.session.expire_all()
    stored = db.session.get(Thread, thread.id)
    assert not stored.pinned and not stored.locked
    page = mina.get("/s/den/mod/log").get_data(as_text=True)
    assert "thread pinned" in page and "thread unlocked" in page


@pytest.mark.parametrize(("alias", "status"), [("Rhea", 403), ("Wren", 403), ("Fred", 404)])
@pytest.mark.parametrize("path", ["pin", "lock"])
def test_nobody_else_changes_or_logs_anything(app, den, alias, status, path):
    _space, thread, _people = den
    client = signed_in(app, alias)
    assert post(client, f"/t/{thread.id}/{path}", {"on": "1"}).status_code == status
    assert post(client, f"/t/{thread.id + 1000}/{path}", {"on": "1"}).status_code == 404
    db.session.expire_all()
    stored = db.session.get(Thread, thread.id)
    assert not stored.pinned and not stored.locked and log_lines() == []


def test_services_refuse_the_same_way(den):
    _space, thread, people = den
    with pytest.raises(Forbidden):
        actions.set_locked(people["Rhea"], thread.id, True)
    with pytest.raises(NotFound):
        actions.set_pinned(people["Fred"], thread.id, True)
    for junk in ("1", None, True, -1, 2**70):
        with pytest.raises(NotFound):
            actions.set_pinned(people["Mina"], junk, True)
    assert log_lines() == []


def test_the_queue_lock_and_the_page_lock_are_one_action(den):
    _space, thread, people = den
    actions.lock_thread(people["Mina"], "den", "thread", thread.id, "heated")
    actions.set_locked(people["Mina"], thread.id, True)  # already locked: nothing more to log
    assert log_lines() == [("lock", "thread", thread.id)]
    with pytest.raises(Forbidden):
        threads.reply(people["Rhea"], thread.id, body="one more")
