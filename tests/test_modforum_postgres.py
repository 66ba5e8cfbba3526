"""Blocks and screening on PostgreSQL: the block filters (a boolean column and NOT IN)
run there too. Runs in CI, skips locally without PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from forum import search
from forum import threads
from forum.extensions import db
from moderation import blocks
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_space
from tests.factories import make_thread

pytestmark = pytest.mark.postgres


def test_postgres_blocks_on_every_read_path(pg_app):
    owner = make_account("Pg.Owner")
    reader = make_account("Pg.Reader")
    other = make_account("Pg.Other")
    space = make_space("closed", owner=owner, name="PG blocks")
    add_member(space, reader)
    add_member(space, other)
    talk = make_thread(space, owner, title="Talk", body="opening")
    theirs = make_thread(space, other, title="Theirs", body="ibisword")
    threads.set_follow(reader, talk.id, True)
    reply = threads.reply(other, talk.id, body="ibisword reply")
    threads.reply(owner, talk.id, body="kept reply")
    assert len(search.search(reader, "ibisword").hits) == 2  # positive control
    blocks.block(reader, "post", reply.id)
    assert search.search(reader, "ibisword").hits == []
    _acc, listing = threads.list_threads(reader, space.slug)
    assert [t.title for t in listing.items] == ["Talk"]
    updates = threads.updates(reader)
    assert [(u.thread.title, u.new_posts) for u in updates.items] == [("Talk", 1)]
    view = threads.view_thread(reader, talk.id)
    assert [getattr(item, "count", None) or item.body for item in view.posts.items] == [
        "opening",
        1,
        "kept reply",
    ]
    assert threads.view_thread(reader, theirs.id).blocked_author
    assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.text("posts"))) == 4
