"""Moderation services: weights, auto-hide, queue actions + log in one transaction, appeals,
blocks."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import access
from forum import accounts
from forum import clock as clock_module
from forum import disk
from forum import signals
from forum import standing
from forum.errors import Conflict
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.models import AuthSession
from forum.models import Membership
from forum.models import Post
from forum.models import Thread
from moderation import actions
from moderation import appeals
from moderation import blocks
from moderation import expiry
from moderation import flags
from moderation import modlog
from moderation import notices
from moderation import trust
from moderation.models import Flag
from moderation.models import ModAction
from moderation.models import Notice
from realtime.models import ChatMessage
from tests.factories import add_member
from tests.factories import make_message
from tests.factories import make_post
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread
from tests.factories import season
from tests.support import PASSPHRASE
from tests.support import count_rows
from tests.support import disk_bytes


@pytest.fixture
def world(app, make_account, clock):
    owner, mod1, mod2, author = (make_account(a) for a in ("Olu", "Mina", "Rosa", "Fred"))
    space = make_space("closed", owner=owner, slug="den")
    add_member(space, mod1, "moderator", space_alias="MinaMod")
    add_member(space, mod2, "moderator")
    add_member(space, author)
    thread = make_thread(space, owner)
    flaggers = []
    for alias in ("Ana", "Bea", "Cai"):
        account = make_account(alias)
        add_member(space, account)
        flaggers.append(season(account, thread))
    room = make_room(space)

    class W:
        pass

    w = W()
    w.__dict__.update(
        space=space,
        owner=owner,
        mod1=mod1,
        mod2=mod2,
        author=author,
        thread=thread,
        flaggers=flaggers,
        room=room,
        clock=clock,
    )
    return w


class Recorder:
    def __init__(self, signal) -> None:
        self.calls: list = []
        self.signal = signal

    def __call__(self, sender, **kwargs) -> None:
        self.calls.append((sender, kwargs))

    def __enter__(self):
        self.signal.connect(self)
        return self

    def __exit__(self, *exc) -> None:
        self.signal.disconnect(self)


# --- Trust and weights ----------------------------------------------------------


def test_levels_and_limits(world, make_account):
    now = world.clock.now()
    fresh = make_account()
    add_member(world.space, fresh)
    here = standing.membership_in(fresh.id, world.space.id)
    assert trust.level(fresh, here, now) == trust.NEW
    assert not trust.may_post_links(fresh, here, now)
    assert not trust.can_raise_alert(fresh, here, now)
    assert trust.chat_rate(fresh, here, now) == "5 per 10 seconds"  # RB_LIMIT_CHAT_NEW
    seasoned = world.flaggers[0]
    there = standing.membership_in(seasoned.id, world.space.id)
    assert trust.level(seasoned, there, now) == trust.MEMBER
    assert trust.may_post_links(seasoned, there, now)
    assert trust.can_raise_alert(seasoned, there, now)
    assert trust.chat_rate(seasoned, there, now) == "10 per 10 seconds"  # RB_LIMIT_CHAT
    old = now - timedelta(days=40)
    assert trust.level_of(trust.Stats(since=old, posts=50), now) == trust.TRUSTED
    assert (
        trust.level_of(trust.Stats(since=old, posts=50, flags_upheld=2, flags_dismissed=2), now)
        == trust.MEMBER
    )
    upheld = clock_module.to_day(now - timedelta(days=30))  # the window counts from its end
    assert trust.level_of(trust.Stats(since=old, posts=50, upheld_on=upheld), now) == trust.NEW
    assert trust.level_of(trust.Stats(since=old, posts=4), now) == trust.NEW
    assert trust.level_of(trust.Stats(since=now, admin=True), now) == trust.TRUSTED


@pytest.mark.parametrize(
    ("posts", "up", "down", "expected"),
    [
        (0, 0, 0, 50),  # new, no history
        (5, 0, 0, 100),  # member, no history
        (5, 8, 0, 140),  # member, accurate: 100 * (0.5 + 9/10)
        (5, 0, 8, 60),  # member, inaccurate: 100 * (0.5 + 1/10)
        (50, 0, 0, 150),  # trusted
        (50, 98, 0, 224),  # trusted, very accurate
        (0, 0, 98, 26),  # new and always wrong: near the floor
    ],
)
def test_flag_weight_formula(world, posts, up, down, expected):
    since = world.clock.now() - timedelta(days=60)
    stats = trust.Stats(since=since, posts=posts, flags_upheld=up, flags_dismissed=down)
    assert trust.flag_weight(stats, world.clock.now()) == expected


# --- Flags and auto-hide --------------------------------------------------------


def test_three_members_hide_a_chat_message_and_signal_after_commit(world):
    message = make_message(world.room, world.author, "you are scum, I know where you work")
    with Recorder(signals.content_hidden) as hidden:
        for i, flagger in enumerate(world.flaggers):
            result = flags.flag(flagger, "chat", message.id, "harassment")
            assert result.hidden is (i == 2)
            if i < 2:
                assert hidden.calls == []
    db.session.refresh(message)
    assert message.hidden_at == world.clock.now()
    assert hidden.calls == [
        (
            world.space.id,
            {
                "kind": "chat",
                "id": message.id,
                "thread_id": None,
                "room_id": world.room.id,
                "seq": message.seq,
            },
        )
    ]
    notice = db.session.scalar(sa.select(Notice).where(Notice.account_id == world.author.id))
    said = notices.words([notice])[notice.id]
    assert "hidden" in said and "harassment" in said and "appeal" in notice.link
    assert not any(f.alias in said for f in world.flaggers)  # never who flagged
    log = db.session.scalar(sa.select(ModAction))
    assert log.action == "auto_hide" and log.moderator_id is None


def test_new_accounts_weigh_less(world, make_account):
    message = make_message(world.room, world.author, "meh")
    for _ in range(3):
        newbie = make_account()
        add_member(world.space, newbie)
        assert not flags.flag(newbie, "chat", message.id, "spam").hidden
    assert flags.open_weight("chat", message.id) == 150


def test_outing_flag_from_moderator_hides_at_once(world):
    post = make_post(world.thread, world.author, "her real name is ...")
    assert flags.flag(world.mod1, "post", post.id, "outing").hidden
    line = db.session.scalar(sa.select(ModAction))
    assert line.excerpt is None  # personal information never copied into the log


def test_flag_rules(world, make_account):
    post = make_post(world.thread, world.author)
    flags.flag(world.flaggers[0], "post", post.id, "spam")
    with pytest.raises(Conflict, match="already flagged"):
        flags.flag(world.flaggers[0], "post", post.id, "hate")
    with pytest.raises(Forbidden):
        flags.flag(world.author, "post", post.id, "spam")
    outsider = make_account()
    with pytest.raises(NotFound):
        flags.flag(outsider, "post", post.id, "spam")  # closed space: as if missing
    for reason, note in (
        ("other", ""),
        ("other", "x" * 201),
        ("nonsense", ""),
        (["spam"], ""),
        ("other", 5),
    ):
        with pytest.raises(Invalid):
            flags.flag(world.flaggers[1], "post", post.id, reason, note)
    for kind, target in (("post", 10**9), ("dm", post.id), ("chat", "1"), ("post", True)):
        with pytest.raises(NotFound):
            flags.flag(world.flaggers[1], kind, target, "spam")
    assert count_rows(Flag) == 1


# --- Queue actions: each writes its log line in the same transaction -----------------


def _flagged_post(world, body="flagged text"):
    post = make_post(world.thread, world.author, body)
    flags.flag(world.flaggers[0], "post", post.id, "hate")
    return post


ACTIONS = {
    "keep": lambda w, p: actions.keep(w.mod1, "den", "post", p.id, "fine"),
    "hide": lambda w, p: actions.hide(w.mod1, "den", "post", p.id, "rule 2"),
    "delete": lambda w, p: actions.delete(w.mod1, "den", "post", p.id, "rule 2"),
    "redact": lambda w, p: actions.redact(w.mod1, "den", "post", p.id, "[removed] rest"),
    "lock": lambda w, p: actions.lock_thread(w.mod1, "den", "post", p.id, "heated"),
    "mute": lambda w, p: actions.mute(w.mod1, "den", "post", p.id, 24, "cool off"),
    "remove": lambda w, p: actions.remove_member(w.mod1, "den", "post", p.id, "troll"),
    "suspend": lambda w, p: actions.suspend(w.admin, "den", "post", p.id, 7, "spam bot"),
}


@pytest.fixture
def admin_world(world, make_account):
    world.admin = make_account("Keeper", admin=True)
    return world


@pytest.mark.parametrize("name", list(ACTIONS))
def test_every_action_logs_in_the_same_transaction(admin_world, name):
    w = admin_world
    post = _flagged_post(w)
    ACTIONS[name](w, post)
    line = db.session.scalar(sa.select(ModAction).order_by(ModAction.id.desc()))
    assert line.action == name
    assert line.target_name == (w.owner.alias if name == "lock" else w.author.alias)


@pytest.mark.parametrize("name", list(ACTIONS))
def test_a_failed_commit_leaves_neither_change_nor_log(admin_world, name, monkeypatch):
    w = admin_world
    post = _flagged_post(w)
    before = count_rows(ModAction)

    def boom() -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(db.session, "commit", boom)
    with pytest.raises(RuntimeError):
        ACTIONS[name](w, post)
    db.session.rollback()
    monkeypatch.undo()
    assert count_rows(ModAction) == before
    db.session.expire_all()
    stored = db.session.get(Post, post.id)
    assert stored is not None and stored.hidden_at is None and stored.body == "flagged text"
    assert db.session.get(Account, w.author.id).suspended_until is None
    assert access.membership_of(w.author, w.space.id).muted_until is None


def test_a_failed_log_write_undoes_the_action(admin_world, monkeypatch):
    w = admin_world
    post = _flagged_post(w)

    def broken(*args, **kwargs):
        db.session.add(ModAction(space_id=w.space.id, action=None, created_at=w.clock.now()))
        db.session.flush()  # NOT NULL: the log INSERT fails

    monkeypatch.setattr(modlog, "write", broken)
    with pytest.raises(sa.exc.IntegrityError):
        actions.hide(w.mod1, "den", "post", post.id, "x")
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Post, post.id).hidden_at is None
    assert count_rows(ModAction) == 0


def test_moderators_cannot_act_on_their_own_content(world):
    post = make_post(world.thread, world.mod1, "my own")
    flags.flag(world.flaggers[0], "post", post.id, "hate")
    for act in (actions.keep, actions.hide, actions.delete):
        with pytest.raises(Forbidden):
            act(world.mod1, "den", "post", post.id)
    actions.keep(world.mod2, "den", "post", post.id)  # another moderator may


def test_members_and_outsiders_cannot_act(world, make_account):
    post = _flagged_post(world)
    with pytest.raises(Forbidden):
        actions.hide(world.flaggers[1], "den", "post", post.id)
    with pytest.raises(NotFound):
        actions.hide(make_account(), "den", "post", post.id)
    other = make_space(slug="elsewhere")
    add_member(other, world.mod1, "moderator")
    with pytest.raises(NotFound):  # a moderator elsewhere: not this space's item
        actions.hide(world.mod1, "elsewhere", "post", post.id)


def test_keep_unhides_and_dismisses(world):
    message = make_message(world.room, world.author, "borderline")
    for flagger in world.flaggers:
        flags.flag(flagger, "chat", message.id, "spam")
    with Recorder(signals.content_unhidden) as shown:
        actions.keep(world.mod1, "den", "chat", message.id)
    assert db.session.get(ChatMessage, message.id).hidden_at is None
    assert {f.status for f in db.session.scalars(sa.select(Flag))} == {"dismissed"}
    assert shown.calls[0][1]["seq"] == message.seq
    stats = trust.stats_in(world.flaggers[0], world.space.id)
    assert stats.flags_dismissed == 1


def test_deleting_a_first_post_deletes_the_thread_and_signals_it(world):
    """The thread goes with its first post (a database cascade): the signal's space is read
    before the commit, when the post's row is still there to read it from."""
    thread = make_thread(world.space, world.author, title="to go", body="first words")
    first = db.session.scalar(sa.select(Post).where(Post.thread_id == thread.id))
    thread_id, first_id = thread.id, first.id
    with Recorder(signals.content_deleted) as deleted:
        actions.delete(world.mod1, "den", "post", first_id, "rule 2")
    db.session.expire_all()
    assert db.session.get(Thread, thread_id) is None and db.session.get(Post, first_id) is None
    assert [(space, data["kind"], data["id"]) for space, data in deleted.calls] == [
        (world.space.id, "thread", thread_id)
    ]


def test_delete_is_a_hard_delete_with_signal(world):
    message = make_message(world.room, world.author, "abuse")
    flags.flag(world.flaggers[0], "chat", message.id, "harassment")
    with Recorder(signals.content_deleted) as deleted:
        actions.delete(world.mod1, "den", "chat", message.id)
    assert db.session.get(ChatMessage, message.id) is None
    assert deleted.calls == [
        (
            world.space.id,
            {
                "kind": "chat",
                "id": message.id,
                "thread_id": None,
                "room_id": world.room.id,
                "seq": message.seq,
            },
        )
    ]


def test_redact_overwrites_the_old_text(world, app, tmp_path):
    post = make_post(world.thread, world.author, "meet at 12 High Street, ask for ZQXJ-MARKER")
    flags.flag(world.flaggers[0], "post", post.id, "outing")
    with pytest.raises(Invalid):
        actions.redact(world.mod1, "den", "post", post.id, post.body)
    actions.redact(world.mod1, "den", "post", post.id, "meet at [removed]")
    db.session.expire_all()
    assert db.session.get(Post, post.id).body == "meet at [removed]"
    line = db.session.scalar(sa.select(ModAction).where(ModAction.action == "redact"))
    assert line.excerpt is None
    db.session.commit()
    disk.checkpoint(db.engine)
    blob = disk_bytes()  # the files (PostgreSQL: the rows), the vault, every sealed value
    assert b"meet at [removed]" in blob  # positive control
    assert b"ZQXJ-MARKER" not in blob


def test_mute_blocks_writing_until_it_ends(world):
    post = _flagged_post(world)
    with Recorder(signals.member_muted) as muted:
        actions.mute(world.mod1, "den", "post", post.id, "24")
    assert muted.calls[0][1]["account_id"] == world.author.id
    shell = access.access_space(world.author, "den")
    with pytest.raises(Forbidden, match="muted"):
        shell.require_write()
    with pytest.raises(Invalid):
        actions.mute(world.mod1, "den", "post", post.id, "5")  # not an offered duration
    world.clock.advance(hours=25)
    assert access.access_space(world.author, "den").require_write()


def test_remove_and_rank(world):
    post = make_post(world.thread, world.mod2, "mod post")
    with pytest.raises(Forbidden):  # a moderator can't remove another moderator
        actions.remove_member(world.mod1, "den", "post", post.id)
    post = _flagged_post(world)
    with Recorder(signals.member_removed) as removed:
        actions.remove_member(world.mod1, "den", "post", post.id)
    assert access.membership_of(world.author, world.space.id) is None
    assert removed.calls == [(world.space.id, {"account_id": world.author.id})]


def test_suspend_is_for_admins_only(admin_world):
    w = admin_world
    post = _flagged_post(w)
    with pytest.raises(Forbidden):
        actions.suspend(w.owner, "den", "post", post.id, 7)
    with Recorder(signals.account_signed_out) as out:
        actions.suspend(w.admin, "den", "post", post.id, "7")
    assert db.session.get(Account, w.author.id).suspended_until > w.clock.now()
    assert count_rows(AuthSession, AuthSession.account_id == w.author.id) == 0
    assert out.calls and out.calls[0][0] == w.author.id


def test_queue_lists_items_with_reasons_and_weights(world):
    post = _flagged_post(world)
    flags.flag(world.flaggers[1], "post", post.id, "other", "keeps <b>spamming</b>")
    _access, items, has_next = actions.review_queue(world.mod1, "den")
    assert [(i.kind, i.id) for i in items] == [("post", post.id)] and not has_next
    assert items[0].weight == 2.0 and dict(items[0].reasons) == {"Hate": 1, "Other": 1}
    assert items[0].notes == ["keeps <b>spamming</b>"]
    with pytest.raises(Forbidden):
        actions.review_queue(world.flaggers[0], "den")


# --- Log ----------------------------------------------------------------------


def test_log_names_moderator_only_if_space_chooses(world):
    post = _flagged_post(world)
    actions.hide(world.mod1, "den", "post", post.id, "rule 1")
    _a, lines, _n = modlog.read(world.flaggers[0], "den")
    assert lines[0].moderator == "a moderator"
    world.space.modlog_names_moderator = True
    db.session.commit()
    post2 = _flagged_post(world)
    actions.hide(world.mod1, "den", "post", post2.id, "rule 1")
    _a, lines, _n = modlog.read(world.flaggers[0], "den")
    assert lines[0].moderator == "MinaMod"


def test_log_excerpt_expires_with_the_content(world):
    """A hidden item's excerpt is for moderators (members can no longer read the item, so
    the public log does not quote it either), and goes with the content."""
    message = make_message(world.room, world.author, "nasty words here")
    flags.flag(world.flaggers[0], "chat", message.id, "hate")
    actions.hide(world.mod1, "den", "chat", message.id)
    _a, lines, _n = modlog.read(world.flaggers[0], "den")
    assert (lines[0].label, lines[0].excerpt) == ("hidden", None)
    _a, lines, _n = modlog.read(world.mod2, "den")
    assert lines[0].excerpt == "nasty words here" and lines[0].moderators_only
    world.clock.advance(hours=25)
    _a, lines, _n = modlog.read(world.mod2, "den")
    assert lines[0].excerpt is None  # hidden on read before the sweeper runs
    expiry.delete_expired(world.clock.now())
    assert db.session.scalar(sa.select(ModAction.excerpt)) is None


def test_log_is_append_only(world):
    post = _flagged_post(world)
    actions.hide(world.mod1, "den", "post", post.id)
    line = db.session.scalar(sa.select(ModAction))
    line.reason = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalar(sa.select(ModAction)))
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.flush()
    db.session.rollback()


# --- Appeals ------------------------------------------------------------------


def test_appeal_decided_by_a_different_moderator(world):
    post = _flagged_post(world)
    actions.hide(world.mod1, "den", "post", post.id)
    line = db.session.scalar(sa.select(ModAction).where(ModAction.action == "hide"))
    with pytest.raises(NotFound):
        appeals.appeal(world.flaggers[0], line.id, "not mine")  # only the author
    row = appeals.appeal(world.author, line.id, "It was a joke between friends.")
    with pytest.raises(Conflict):
        appeals.appeal(world.author, line.id, "again")
    with pytest.raises(Forbidden, match="different moderator"):
        appeals.decide(world.mod1, "den", row.id, "overturn")
    with pytest.raises(Forbidden):
        appeals.decide(world.flaggers[0], "den", row.id, "overturn")
    with pytest.raises(Invalid):
        appeals.decide(world.mod2, "den", row.id, "maybe")
    with Recorder(signals.content_unhidden) as shown:
        appeals.decide(world.mod2, "den", row.id, "overturn", "fair enough")
    assert db.session.get(Post, post.id).hidden_at is None and shown.calls
    with pytest.raises(Conflict):
        appeals.decide(world.owner, "den", row.id, "uphold")
    assert (
        db.session.scalar(sa.select(ModAction.action).order_by(ModAction.id.desc()))
        == "appeal_overturned"
    )
    texts = list(notices.words(notices.list_for(world.author)[0]).values())
    assert any("succeeded: your post shows again" in t for t in texts)  # "overturned" was jargon


def test_lock_and_keep_are_not_appealable(world):
    post = _flagged_post(world)
    actions.keep(world.mod1, "den", "post", post.id)
    line = db.session.scalar(sa.select(ModAction))
    with pytest.raises(NotFound):
        appeals.appeal(world.author, line.id, "why")


# --- Blocks -------------------------------------------------------------------


def test_blocks_filter_reads_and_contact(world):
    # A block attaches to the name, not the account (issue 11): hides() and
    # assert_may_contact() take the name and space in place of the old per-account is_blocked.
    victim, troll = world.flaggers[0], world.author
    post = make_post(world.thread, troll, "creepy")
    post.author_name = "TrollInDen"  # written under a name the troll showed in the den then
    db.session.commit()
    row = blocks.block(victim, "post", post.id)
    assert row.blocked_name == "TrollInDen" and row.space_id == world.space.id
    assert blocks.blocked_ids(victim) == {troll.id}
    assert blocks.hides(victim, troll.id, "TrollInDen", world.space.id)
    assert not blocks.hides(troll, victim.id, victim.alias, world.space.id)
    visible = set(
        db.session.scalars(sa.select(Post.id).where(blocks.exclude_blocked(victim, Post)))
    )
    assert post.id not in visible and visible
    everyday = blocks.block(victim, "post", make_post(world.thread, troll, "as myself").id)
    assert everyday.blocked_name == troll.alias and everyday.space_id is None
    with pytest.raises(NotFound):
        blocks.assert_may_contact(troll, victim, world.space.id)
    blocks.assert_may_contact(victim, troll, world.space.id)  # the blocker is not stopped
    with pytest.raises(Conflict):
        blocks.block(victim, "post", post.id)
    with pytest.raises(Invalid):
        blocks.block(victim, "post", make_post(world.thread, victim).id)
    with pytest.raises(NotFound):
        blocks.unblock(troll, row.id)  # someone else's block
    blocks.unblock(victim, row.id)
    blocks.unblock(victim, everyday.id)
    assert blocks.blocked_ids(victim) == set()


# --- Sweeps and account deletion ---------------------------------------------------


def test_notices_expire_after_30_days(world):
    notices.notify(world.author.id, "removed", {"space": world.space.id})
    db.session.commit()
    assert len(notices.list_for(world.author)[0]) == 1
    world.clock.advance(days=31)
    assert notices.list_for(world.author)[0] == []
    expiry.delete_expired(world.clock.now())
    assert count_rows(Notice) == 0


def test_deleting_an_account_forgets_it_in_moderation(world):
    post = _flagged_post(world)
    actions.hide(world.mod1, "den", "post", post.id)
    blocks.block(world.flaggers[1], "post", make_post(world.thread, world.author).id)
    accounts.delete_account(world.author, PASSPHRASE)
    line = db.session.scalar(sa.select(ModAction))
    assert (
        line.target_name == "[deleted]" and line.target_account_id is None and line.excerpt is None
    )
    assert blocks.blocked_ids(world.flaggers[1]) == set()
    flagger_id = world.flaggers[0].id
    accounts.delete_account(world.flaggers[0], PASSPHRASE)
    assert count_rows(Flag, Flag.flagger_id == flagger_id) == 0
    assert count_rows(Membership, Membership.account_id == flagger_id) == 0
