"""Removed text leaves the SQLite files: one raw-bytes test per kind of text-changing write.

Each test writes a marker that must go and one that must stay (the positive control:
a broken grep, or a file never read, would otherwise pass), makes the write through
the service a member or moderator uses, then reads the database's files byte by
byte (main file, -wal, -shm). Markers are letters only (the privacy guard takes
long digit runs for phone numbers), long and random (nothing else contains them);
FTS5 stores terms prefix-compressed, so the test greps for a marker's tail, which
catches the index's copy too.

"Within one minute": the services clean up as they commit; the background sweeper,
which runs every ``RB_SWEEP_INTERVAL`` (60 s), checkpoints again in case a reader
held the WAL. ``gone_after_sweep`` checks that path.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from forum import accounts
from forum import disk
from forum import expiry
from forum import sealed
from forum import search
from forum import threads
from forum.app import _sqlite_pragmas
from forum.extensions import db
from forum.models import Post
from moderation import actions
from moderation import flags
from moderation.models import ModAction
from realtime.models import ChatMessage
from tests.factories import add_member
from tests.factories import make_message
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread
from tests.support import PASSPHRASE
from tests.support import assert_both_on_disk
from tests.support import assert_gone
from tests.support import letters

# The raw bytes of the SQLite files. On PostgreSQL this promise is kept by crypto-shredding,
# tested on its data folder by tests/test_shredding_postgres.py.
pytestmark = pytest.mark.sqlite_only("raw-bytes scans of the SQLite files")


@pytest.fixture
def people(make_account):
    owner = make_account("Ownerq")
    author = make_account("Authorq")
    moderator = make_account("Modq")
    space = make_space("open", owner=owner)
    add_member(space, author)
    add_member(space, moderator, role="moderator")
    return owner, author, moderator, space


def test_this_sqlite_removes_fts5_terms_at_once(app):
    """The app runs on an SQLite with FTS5 secure-delete (>= 3.42), and it is on."""
    with db.engine.connect() as connection:
        assert disk.has_fts5_secure_delete(connection.connection.dbapi_connection)
    assert search.secure_delete_on()


def test_author_deletes_a_reply(app, people):
    _owner, author, _mod, space = people
    gone, kept = letters("zg"), letters("zk")
    t = make_thread(space, author, title="kept thread", body=f"{kept} stays here")
    reply = threads.reply(author, t.id, body=f"{gone} private words")
    assert_both_on_disk(gone, kept)
    threads.delete_post(author, reply.id)
    assert_gone(gone, kept)


def test_author_deletes_a_first_post_that_has_replies(app, people):
    owner, author, _mod, space = people
    gone, kept = letters("zg"), letters("zk")
    t = make_thread(space, author, title="a thread", body=f"{gone} first words")
    threads.reply(owner, t.id, body=f"{kept} a reply that stays")
    first = db.session.scalar(
        sa.select(Post.id).where(Post.thread_id == t.id, Post.is_first.is_(True))
    )
    assert_both_on_disk(gone, kept)
    threads.delete_post(author, first)
    assert_gone(gone, kept)


@pytest.mark.parametrize("where", ["body", "title"])
def test_author_edits_a_post(app, people, where):
    _owner, author, _mod, space = people
    gone, kept = letters("zg"), letters("zk")
    title, body = (
        (f"{gone} old title", f"{kept} body")
        if where == "title"
        else (f"{kept} title", f"{gone} body")
    )
    t = make_thread(space, author, title=title, body=body)
    first = db.session.scalar(sa.select(Post.id).where(Post.thread_id == t.id))
    assert_both_on_disk(gone, kept)
    new_title = "a new title" if where == "title" else title
    new_body = body if where == "title" else f"{kept} new body"
    threads.edit_post(author, first, title=new_title, body=new_body)
    assert_gone(gone, kept)


def test_moderator_redacts_a_post(app, people, make_account):
    _owner, author, moderator, space = people
    gone, kept = letters("zg"), letters("zk")
    t = make_thread(space, author, title="a thread", body=f"{kept} first post")
    reply = threads.reply(author, t.id, body=f"my details {gone} are here")
    flagger = make_account("Flagq")
    add_member(space, flagger)
    flags.flag(flagger, "post", reply.id, "other", f"look {gone}")
    actions.hide(moderator, space.slug, "post", reply.id)  # the log quotes it
    assert db.session.scalar(sa.select(ModAction.excerpt)).startswith("my details")
    assert_both_on_disk(gone, kept)
    actions.redact(moderator, space.slug, "post", reply.id, "my details [removed] are here")
    assert_gone(gone, kept)


def test_account_deletion_with_everything(app, people, make_account):
    owner, _author, _mod, space = people
    leaver = make_account("Leaverq")
    add_member(space, leaver)
    gone, gone_title, kept = letters("zg"), letters("zt"), letters("zk")
    make_thread(space, owner, title="kept", body=f"{kept} owner's words")
    t = make_thread(space, leaver, title=f"{gone_title} their title", body="their first post")
    threads.reply(leaver, t.id, body=f"{gone} their reply")
    assert_both_on_disk(gone, kept)
    accounts.delete_account(db.session.merge(leaver), PASSPHRASE, keep_content=False)
    assert_gone(gone, kept)
    assert_gone(gone_title, kept)


def test_expiry_of_posts_and_chat(app, people, clock):
    _owner, author, _mod, space = people
    space.post_retention_days = 1
    space.chat_retention_hours = 1
    db.session.commit()
    gone_post, gone_chat = letters("zp"), letters("zc")
    make_thread(space, author, title="short lived", body=f"{gone_post} words")
    room = make_room(space)
    make_message(room, body=f"{gone_chat} said in chat")
    clock.advance(hours=12)
    kept = letters("zk")
    make_message(room, body=f"{kept} said later")  # expires an hour after now, not yet
    clock.advance(minutes=59)
    assert_both_on_disk(gone_chat, kept)
    expiry.delete_expired(clock.now())
    assert_gone(gone_chat, kept)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatMessage)) == 1
    # The post lives a day; the newer chat message is still the control.
    clock.advance(hours=12)
    kept2 = letters("zk")
    make_thread(space, author, title="fresh", body=f"{kept2} fresh words")
    expiry.delete_expired(clock.now())
    assert_gone(gone_post, kept2)


def test_the_sweeper_checkpoints_even_when_nothing_expired(app, people):
    """A reader can block a checkpoint; the next sweep (each minute) must finish the job."""
    _owner, author, _mod, space = people
    gone, kept = letters("zg"), letters("zk")
    t = make_thread(space, author, title="t", body=f"{kept} stays")
    reply = threads.reply(author, t.id, body=f"{gone} goes")
    expiry.checkpoint()
    reader = db.engine.connect()
    transaction = reader.begin()
    reader.exec_driver_sql("SELECT count(*) FROM posts").scalar()  # holds a WAL snapshot
    try:
        threads.delete_post(author, reply.id)  # its checkpoint cannot finish past the reader
    finally:
        transaction.rollback()
        reader.close()
    assert expiry.sweep_once(app) is not None
    assert_gone(gone, kept)


def test_an_older_sqlite_is_refused_on_a_secure_delete_index(app, tmp_path):
    """SQLite < 3.42 cannot read an FTS5 index written with secure-delete: a clear refusal
    (install the dependencies) instead of search failing later."""
    import sqlite3

    if disk.has_fts5_secure_delete(sqlite3.connect(":memory:")):
        pytest.skip("this system's SQLite has FTS5 secure-delete")
    search.secure_delete_on()  # the vault (and its index) exists
    raw = sqlite3.connect(app.config["RB_VAULT_PATH"])
    try:
        with pytest.raises(RuntimeError, match="needs SQLite 3.42"):
            _sqlite_pragmas(raw, None)
    finally:
        raw.close()


def test_without_secure_delete_the_fallback_merges_the_index(app, people, monkeypatch):
    """On an SQLite older than 3.42 (no FTS5 secure-delete) compact() merges the index instead."""
    _owner, author, _mod, space = people
    with sealed.vault().connect() as index:  # the index lives in the vault
        for table in search.FTS_TABLES:
            index.exec_driver_sql(f"INSERT INTO {table}({table}, rank) VALUES ('secure-delete', 0)")
        index.commit()
    monkeypatch.setattr(disk, "has_fts5_secure_delete", lambda _connection: False)
    gone, kept = letters("zg"), letters("zk")
    t = make_thread(space, author, title="t", body=f"{kept} stays")
    reply = threads.reply(author, t.id, body=f"{gone} goes")
    for n in range(20):  # several segments, as a live forum has
        threads.reply(author, t.id, body=f"filler {n} " + letters("f"))
    threads.delete_post(author, reply.id)
    assert not search.secure_delete_on()
    assert_gone(gone, kept)
