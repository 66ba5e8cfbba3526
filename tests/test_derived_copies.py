"""Removed means gone: the public log never quotes removed text, moderators keep it only
for the appeal window, and every copy moderation derives from content (log excerpts,
flag notes, notices, appeals) goes with its source, in the database and in its files."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import expiry
from forum import retention
from forum import threads
from forum.errors import Forbidden
from forum.extensions import db
from moderation import actions
from moderation import appeals
from moderation import flags
from moderation import modlog
from moderation import notices
from moderation import watchwords
from moderation.models import Appeal
from moderation.models import Flag
from moderation.models import ModAction
from moderation.models import Notice
from realtime.models import ChatMessage
from tests.factories import add_member
from tests.factories import make_message
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread
from tests.support import assert_both_on_disk
from tests.support import assert_gone
from tests.support import letters
from tests.support import login


@pytest.fixture
def den(make_account):
    owner = make_account("Ownerd")
    author = make_account("Authord")
    moderator = make_account("Modd")
    reader = make_account("Readerd")
    space = make_space("open", owner=owner)
    add_member(space, author)
    add_member(space, moderator, role="moderator")
    add_member(space, reader)

    class Den:
        pass

    d = Den()
    d.__dict__.update(owner=owner, author=author, moderator=moderator, reader=reader, space=space)
    return d


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_the_public_log_never_quotes_deleted_text(app, den, client, clock):
    secret = letters("zs")
    t = make_thread(den.space, den.owner, title="talk", body="opening")
    reply = threads.reply(den.author, t.id, body=f"{secret} nasty words")
    actions.delete(den.moderator, den.space.slug, "post", reply.id, "rule 2")
    _a, lines, _n = modlog.read(den.reader, den.space.slug)
    assert (lines[0].action, lines[0].reason, lines[0].excerpt) == ("delete", "rule 2", None)
    _a, lines, _n = modlog.read(den.moderator, den.space.slug)
    assert lines[0].excerpt.startswith(secret) and lines[0].moderators_only
    login(client, "Readerd")
    page = client.get(f"/s/{den.space.slug}/mod/log").get_data(as_text=True)
    assert "rule 2" in page and secret not in page


def test_the_public_log_never_quotes_hidden_text(app, den, client, clock):
    """Hidden is removed from members' view, so the public log does not quote it either:
    not in the hide's line, and no longer in an earlier line that quoted the item while
    it showed (a "kept" decision). Moderators see it during the appeal window only."""
    secret, kept = letters("zh"), letters("zk")
    t = make_thread(den.space, den.owner, title="talk", body=f"{kept} opening")
    reply = threads.reply(den.author, t.id, body=f"{secret} borderline words")
    flags.flag(den.reader, "post", reply.id, "spam")
    actions.keep(den.moderator, den.space.slug, "post", reply.id, "fine for now")
    _a, lines, _n = modlog.read(den.reader, den.space.slug)
    assert lines[0].excerpt.startswith(secret)  # it shows, so the log may quote it
    actions.hide(den.moderator, den.space.slug, "post", reply.id, "rule 1")
    _a, lines, _n = modlog.read(den.reader, den.space.slug)
    assert [(line.action, line.excerpt) for line in lines] == [("hide", None), ("keep", None)]
    _a, lines, _n = modlog.read(den.moderator, den.space.slug)
    assert lines[0].excerpt.startswith(secret) and lines[0].moderators_only
    login(client, "Readerd")
    page = client.get(f"/s/{den.space.slug}/mod/log").get_data(as_text=True)
    assert "rule 1" in page and secret not in page
    action = db.session.scalar(sa.select(ModAction).where(ModAction.action == "hide"))
    assert action.excerpt_expires_at == min(
        reply.expires_at, action.created_at + modlog.appeal_window()
    )
    clock.advance(days=app.config["RB_APPEAL_DAYS"], seconds=1)
    _a, lines, _n = modlog.read(den.moderator, den.space.slug)
    assert lines[0].excerpt is None  # the window closed: hidden on read, then swept
    expiry.run_maintenance(clock.now())
    assert db.session.scalar(sa.select(ModAction.excerpt).where(ModAction.id == action.id)) is None
    # The hidden post itself is still there for its author (they may edit it).
    assert_both_on_disk(secret, kept)


def test_deleted_text_is_for_moderators_during_the_appeal_window_then_gone(app, den, clock):
    window = modlog.appeal_window()
    assert window == timedelta(days=app.config["RB_APPEAL_DAYS"]) > timedelta(0)
    quoted, beyond, kept = letters("zq"), letters("zb"), letters("zk")
    t = make_thread(den.space, den.owner, title="talk", body=f"{kept} opening")
    body = f"{quoted} " + "filler words " * 12 + beyond  # the excerpt holds the start only
    reply = threads.reply(den.author, t.id, body=body)
    assert_both_on_disk(quoted, kept)
    actions.delete(den.moderator, den.space.slug, "post", reply.id, "rule 2")
    assert_gone(beyond, kept)  # the full text left the files at once
    action = db.session.scalar(sa.select(ModAction).where(ModAction.action == "delete"))
    assert action.excerpt_expires_at == min(reply.expires_at, action.created_at + window)
    appeals.appeal(den.author, action.id, "It was a quote.")
    clock.advance(days=app.config["RB_APPEAL_DAYS"], seconds=1)
    _a, lines, _n = modlog.read(den.moderator, den.space.slug)
    assert lines[0].excerpt is None  # hidden on read before the sweep
    expiry.run_maintenance(clock.now())
    assert db.session.scalar(sa.select(ModAction.excerpt).where(ModAction.id == action.id)) is None
    assert count(Appeal) == 0  # the appeal goes with the copy it was about
    assert_gone(quoted, kept)


def test_appeals_close_with_the_window(app, den, clock):
    t = make_thread(den.space, den.owner, title="talk", body="opening")
    reply = threads.reply(den.author, t.id, body="a reply")
    actions.hide(den.moderator, den.space.slug, "post", reply.id, "rule 3")
    action = db.session.scalar(sa.select(ModAction))
    clock.advance(days=app.config["RB_APPEAL_DAYS"])
    with pytest.raises(Forbidden, match="passed"):
        appeals.appeal(den.author, action.id, "please")
    assert count(Appeal) == 0


def test_flag_notes_go_with_expired_posts_and_chat(app, den, clock):
    den.space.post_retention_days = 1
    den.space.chat_retention_hours = 1
    db.session.commit()
    post_note, chat_note, kept = letters("zn"), letters("zc"), letters("zk")
    t = make_thread(den.space, den.author, title="short", body="post words")
    first = threads.view_thread(den.reader, t.id).posts.items[0]
    flags.flag(den.reader, "post", first.id, "other", f"see {post_note}")
    room = make_room(den.space)
    message = make_message(room, den.author, body="chat words")
    flags.flag(den.reader, "chat", message.id, "other", f"see {chat_note}")
    clock.advance(hours=2)
    keeper = make_message(room, den.author, body="later words")
    flags.flag(den.reader, "chat", keeper.id, "other", f"see {kept}")
    assert_both_on_disk(chat_note, kept)
    expiry.delete_expired(clock.now())
    assert count(Flag, Flag.target_kind == "chat") == 1
    assert_gone(chat_note, kept)
    clock.advance(days=1)
    keeper2 = make_message(room, den.author, body="even later")
    kept2 = letters("zk")
    flags.flag(den.reader, "chat", keeper2.id, "other", f"see {kept2}")
    expiry.delete_expired(clock.now())
    assert count(Flag, Flag.target_kind == "post") == 0
    assert_gone(post_note, kept2)


def test_a_hidden_reply_in_a_thread_whose_life_was_shortened(app, den, clock):
    """The log excerpt of a hidden reply goes when the reply does, though its thread's
    life was shortened after the hide (the excerpt's own clock still says later)."""
    hidden, kept = letters("zh"), letters("zk")
    t = make_thread(den.space, den.owner, title="talk", body="opening")
    reply = threads.reply(den.author, t.id, body=f"{hidden} rude words")
    actions.hide(den.moderator, den.space.slug, "post", reply.id, "rule 1")
    other = make_thread(den.space, den.owner, title="other", body=f"{kept} stays")
    assert other is not None
    retention.set_thread_lifetime(den.owner, t.id, 1)
    clock.advance(days=1, seconds=1)
    expiry.delete_expired(clock.now())
    assert db.session.scalar(sa.select(ModAction.excerpt)) is None
    assert_gone(hidden, kept)


def test_notices_about_an_action_expire_with_its_content(app, den, clock):
    room = make_room(den.space)
    message = make_message(room, den.author, body="chat words")
    actions.hide(den.moderator, den.space.slug, "chat", message.id, "rule 1")
    notice = db.session.scalar(sa.select(Notice))
    assert notice.expires_at == message.expires_at
    clock.advance(hours=25)
    assert notices.list_for(den.author)[0] == []
    expiry.delete_expired(clock.now())
    expiry.run_maintenance(clock.now())
    assert count(Notice) == 0


def test_copies_follow_a_thread_whose_life_was_shortened(app, den, clock):
    """Shortening a thread's life shortens every copy of its posts at once: the log's
    excerpts (and so the appeal windows), notices about a hide and a deletion, and the
    appeal itself; none is readable after the new end, and the sweep removes them."""
    hidden_text, deleted_text, kept = letters("zh"), letters("zd"), letters("zk")
    t = make_thread(den.space, den.owner, title="talk", body="opening")
    make_thread(den.space, den.owner, title="other", body=f"{kept} stays")
    hidden = threads.reply(den.author, t.id, body=f"{hidden_text} rude words")
    deleted = threads.reply(den.author, t.id, body=f"{deleted_text} ruder words")
    flags.flag(den.reader, "post", hidden.id, "other", "a note about it")
    actions.hide(den.moderator, den.space.slug, "post", hidden.id, "rule 1")
    actions.delete(den.moderator, den.space.slug, "post", deleted.id, "rule 2")
    hide_line = db.session.scalar(sa.select(ModAction).where(ModAction.action == "hide"))
    appeals.appeal(den.author, hide_line.id, "It was a quote.")
    window_end = hide_line.created_at + modlog.appeal_window()
    assert {n.expires_at for n in db.session.scalars(sa.select(Notice))} == {window_end}
    thread = retention.set_thread_lifetime(den.owner, t.id, 1)
    new_end = thread.expires_at
    assert new_end < window_end
    db.session.expire_all()
    ends = db.session.scalars(sa.select(ModAction.excerpt_expires_at)).all()
    assert ends and all(end is not None and end <= new_end for end in ends)
    notes = db.session.scalars(sa.select(Notice)).all()
    assert len(notes) == 2 and all(n.expires_at <= new_end for n in notes)
    clock.set(new_end + timedelta(seconds=1))
    assert notices.list_for(den.author)[0] == []  # gone from the page before the sweep
    _a, lines, _n = modlog.read(den.moderator, den.space.slug)
    assert all(line.excerpt is None for line in lines)
    with pytest.raises(Forbidden):  # the window closed with the content
        appeals.appeal(
            den.author,
            db.session.scalar(sa.select(ModAction.id).where(ModAction.action == "delete")),
            "please",
        )
    expiry.delete_expired(clock.now())
    expiry.run_maintenance(clock.now())
    assert count(Notice) == count(Appeal) == count(Flag) == 0
    assert count(ModAction, ModAction.excerpt.is_not(None)) == 0
    assert_gone(hidden_text, kept)
    assert_gone(deleted_text, kept)


def test_copies_follow_a_space_whose_retention_was_shortened(app, den, clock):
    """An owner shortening retention for what exists: notices about a hidden chat
    message and a held one, and the log's copy, end with the messages' new expiry; a
    deletion's kept text goes at once, with its notice."""
    watchwords.add_word(den.owner, den.space.slug, "zebra", "hold")
    room = make_room(den.space)
    hidden = make_message(room, den.author, body="rude chat words")
    held = make_message(room, den.author, body="a zebra passed")
    deleted = make_message(room, den.author, body="ruder chat words")
    actions.hide(den.moderator, den.space.slug, "chat", hidden.id, "rule 1")
    actions.delete(den.moderator, den.space.slug, "chat", deleted.id, "rule 2")
    assert count(Notice) == 3
    clock.advance(minutes=30)
    retention.set_retention(den.owner, den.space, 1, 30, apply_to_existing=True)
    db.session.expire_all()
    hidden_end = db.session.get(ChatMessage, hidden.id).expires_at
    assert hidden_end == hidden.created_at + timedelta(hours=1)
    hide_line = db.session.scalar(sa.select(ModAction).where(ModAction.action == "hide"))
    assert hide_line.excerpt_expires_at == hidden_end
    delete_line = db.session.scalar(sa.select(ModAction).where(ModAction.action == "delete"))
    assert delete_line.excerpt is None and delete_line.excerpt_expires_at <= clock.now()
    ends = {n.target_id: n.expires_at for n in db.session.scalars(sa.select(Notice))}
    assert ends[hidden.id] == hidden_end
    assert ends[held.id] == db.session.get(ChatMessage, held.id).expires_at
    assert ends[deleted.id] <= clock.now()  # its source's end is unknown: it goes now
    assert [n.target_id for n in notices.list_for(den.author)[0]] == [hidden.id, held.id]
    clock.advance(minutes=31)
    assert notices.list_for(den.author)[0] == []
    expiry.delete_expired(clock.now())
    expiry.run_maintenance(clock.now())
    assert count(Notice) == 0


def test_the_migration_links_existing_notices_to_their_log_line(app, den):
    """Migration 0017: notices written before it learn their log line (and content) from
    their appeal link, so a later shortening reaches them too."""
    import flask_migrate

    room = make_room(den.space)
    message = make_message(room, den.author, body="chat words")
    actions.hide(den.moderator, den.space.slug, "chat", message.id, "rule 1")
    line, message_id = db.session.scalar(sa.select(ModAction.id)), message.id
    db.session.commit()
    db.session.close()
    flask_migrate.downgrade(revision="0016")
    flask_migrate.upgrade()
    notice = db.session.scalar(sa.select(Notice))
    assert (notice.action_id, notice.target_kind, notice.target_id) == (line, "chat", message_id)


def test_an_author_edit_blanks_the_log_excerpt_of_the_old_text(app, den):
    old, kept = letters("zo"), letters("zk")
    t = make_thread(den.space, den.owner, title="talk", body=f"{kept} opening")
    reply = threads.reply(den.author, t.id, body=f"{old} rude words")
    actions.hide(den.moderator, den.space.slug, "post", reply.id, "rule 1")
    assert db.session.scalar(sa.select(ModAction.excerpt)).startswith(old)
    threads.edit_post(den.author, reply.id, body="kinder words")
    assert db.session.scalar(sa.select(ModAction.excerpt)) is None
    assert_gone(old, kept)


def test_an_author_deleting_a_thread_takes_the_excerpts_and_flags_of_its_replies(app, den):
    hidden, note, kept = letters("zh"), letters("zn"), letters("zk")
    t = make_thread(den.space, den.author, title="talk", body="opening")
    reply = threads.reply(den.owner, t.id, body=f"{hidden} rude words")
    make_thread(den.space, den.owner, title="other", body=f"{kept} stays")
    actions.hide(den.moderator, den.space.slug, "post", reply.id, "rule 1")
    first = threads.view_thread(den.reader, t.id).posts.items[0]
    flags.flag(den.reader, "post", first.id, "other", f"see {note}")
    threads.delete_post(den.owner, reply.id)  # the reply's own deletion
    threads.delete_post(den.author, first.id)  # no replies left: the thread goes
    assert db.session.scalar(sa.select(ModAction.excerpt)) is None
    assert count(Flag) == 0
    assert_gone(hidden, kept)
    assert_gone(note, kept)


@pytest.mark.postgres
def test_postgres_derived_copies_go_with_their_source(pg_app, clock):
    """The same cleanup on PostgreSQL: rows, not files (its disk is another matter)."""
    from forum import accounts

    pw = "correct horse battery staple"
    owner, author, moderator, reader = (
        accounts.sign_up(a, pw, pw).account for a in ("Pg.O", "Pg.A", "Pg.M", "Pg.R")
    )
    space = make_space("open", owner=owner, name="PG copies")
    add_member(space, author)
    add_member(space, moderator, role="moderator")
    add_member(space, reader)
    t = make_thread(space, owner, title="talk", body="opening")
    hidden = threads.reply(author, t.id, body="rude words")
    actions.hide(moderator, space.slug, "post", hidden.id, "rule 1")
    noted = threads.reply(author, t.id, body="other words")
    flags.flag(reader, "post", noted.id, "other", "a note about it")
    deleted = threads.reply(author, t.id, body="deleted words")
    actions.delete(moderator, space.slug, "post", deleted.id, "rule 2")
    assert count(ModAction, ModAction.excerpt.is_not(None)) == 2
    retention.set_thread_lifetime(owner, t.id, 1)
    clock.advance(days=1, seconds=1)
    expiry.delete_expired(clock.now())
    assert count(Flag, Flag.note.is_not(None)) == 0
    # The hide's excerpt went with its post; the deletion's copy is capped by the post's expiry.
    assert count(ModAction, ModAction.excerpt.is_not(None), ModAction.action == "hide") == 0
    expiry.run_maintenance(clock.now())
    assert count(ModAction, ModAction.excerpt.is_not(None)) == 0


def test_shortening_a_spaces_retention_drops_the_deleted_text_kept_for_appeals(app, den):
    room = make_room(den.space)
    message = make_message(room, den.author, body="chat words")
    actions.delete(den.moderator, den.space.slug, "chat", message.id, "rule 2")
    assert db.session.scalar(sa.select(ModAction.excerpt)) == "chat words"
    retention.set_retention(den.owner, den.space, 2, 30, apply_to_existing=False)
    assert (
        db.session.scalar(sa.select(ModAction.excerpt)) == "chat words"
    )  # nothing existing shortened
    retention.set_retention(den.owner, den.space, 1, 30, apply_to_existing=True)
    assert db.session.scalar(sa.select(ModAction.excerpt)) is None
