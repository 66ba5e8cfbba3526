"""Moderation tables: flags, the append-only log, appeals, blocks, notices, watched words.

Content is named generically by ``(target_kind, target_id)`` with ``target_kind`` in
``TARGET_KINDS`` ('post', 'thread', 'chat', 'report': a bad-date report, 'dm': a direct message),
so there is no foreign key to the content: the moderation sweeper removes flags
whose content is gone (``moderation/expiry.py``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from forum.dbtypes import UTCDateTime
from forum.extensions import db
from forum.i18n import N_
from forum.sealed import DAY
from forum.sealed import HOUR
from forum.sealed import Epoch
from forum.sealed import SealedText

TARGET_KINDS = ("post", "thread", "chat", "report", "dm")

# Flag reasons: stored key -> label shown to people.
REASONS = {
    "harassment": N_("Harassment or threats"),
    "outing": N_("Outing / personal information"),
    "hate": N_("Hate"),
    "spam": N_("Spam or scam"),
    "rescue": N_('"Rescue" or anti-sex-work preaching'),
    "offtopic": N_("Off-topic"),
    "other": N_("Other"),
}
FLAG_OPEN, FLAG_UPHELD, FLAG_DISMISSED = "open", "upheld", "dismissed"


class Flag(db.Model):
    """One member's report of one item. The author is never told who flagged.

    ``flagger_id`` is None for flags raised by the system (a watched word).
    ``weight`` is in hundredths (100 = one ordinary member), see ``trust.flag_weight``.
    """

    __tablename__ = "mod_flags"
    __table_args__ = (
        sa.UniqueConstraint("target_kind", "target_id", "flagger_id"),
        sa.Index("ix_mod_flags_target", "target_kind", "target_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    target_kind: so.Mapped[str] = so.mapped_column(sa.String(10))
    target_id: so.Mapped[int] = so.mapped_column()
    flagger_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # The content's author when flagged (for trust: "upheld flags against them").
    author_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    reason: so.Mapped[str] = so.mapped_column(sa.String(12))
    # Only for reason "other" (or a watched word); cleared once the flag is resolved.
    note: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    # A system flag's note is the watched word alone; this says which sentence shows it
    # (``moderation/wording.py`` ``FLAG_NOTES``: held or flagged), in the reader's language.
    note_code: so.Mapped[str | None] = so.mapped_column(sa.String(12))
    weight: so.Mapped[int] = so.mapped_column(default=100)
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=FLAG_OPEN, index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    resolved_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())


class ModAction(db.Model):
    """One line of a space's public moderation log. Append-only.

    Written in the same transaction as the change it records. The only later
    changes allowed are the excerpt's expiry (blanked when the content's own
    ``expires_at`` passes) and anonymisation when an account is deleted;
    ``before_flush`` below refuses any other ORM update or delete.
    """

    __tablename__ = "mod_actions"
    # The excerpt is sealed under the key of the space's day its copy expires.
    __sealed__ = Epoch(scope="space_id", expires="excerpt_expires_at", length=DAY)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    action: so.Mapped[str] = so.mapped_column(sa.String(20))
    target_kind: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    target_id: so.Mapped[int | None] = so.mapped_column()
    # The thread of a post or thread target (no foreign key: it outlives the thread), so
    # the copy of a deleted reply goes when its thread expires (moderation/expiry.py).
    thread_id: so.Mapped[int | None] = so.mapped_column(index=True)
    # The member acted upon (the content's author); never shown, used for appeals.
    target_account_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    target_name: so.Mapped[str] = so.mapped_column(sa.String(64), default="")
    # A short excerpt that expires with the content (None once blanked or withheld).
    excerpt: so.Mapped[str | None] = so.mapped_column(SealedText(160))
    excerpt_expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime(), index=True)
    # The moderator's reason as typed ("" if none; rows older than migration 0020 may hold
    # an English sentence). When empty, ``reason_code`` says what to show instead
    # (``moderation/wording.py`` ``REASONS``); ``reason_values`` its values (flag-reason keys,
    # a mute's hours, a suspension's days). Worded in the reader's language when shown.
    reason: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    reason_code: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    reason_values: so.Mapped[dict | None] = so.mapped_column(sa.JSON(none_as_null=True))
    moderator_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    # Stored only when the space names its moderators at the time of the action ("" for an
    # instance admin who is not a member: shown as "an instance admin" in the reader's words).
    moderator_name: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)


MUTABLE_LOG_COLUMNS = frozenset(
    {
        "excerpt",
        "excerpt_expires_at",
        "moderator_id",
        "moderator_name",
        "target_account_id",
        "target_name",
    }
)


@sa.event.listens_for(so.Session, "before_flush")
def _log_is_append_only(session: so.Session, _context: object, _instances: object) -> None:
    for obj in session.deleted:
        if isinstance(obj, ModAction):
            raise RuntimeError("the moderation log is append-only")
    for obj in session.dirty:
        if isinstance(obj, ModAction) and session.is_modified(obj):
            state = sa.inspect(obj)
            changed = {a.key for a in state.attrs if a.history.has_changes()}
            if changed - MUTABLE_LOG_COLUMNS:
                raise RuntimeError("the moderation log is append-only")


APPEAL_OPEN, APPEAL_UPHELD, APPEAL_OVERTURNED = "open", "upheld", "overturned"


class Appeal(db.Model):
    """The author's one appeal against one action; decided by a different moderator."""

    __tablename__ = "mod_appeals"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    action_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("mod_actions.id", ondelete="CASCADE"), unique=True
    )
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    author_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    text: so.Mapped[str] = so.mapped_column(sa.String(1000))
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default=APPEAL_OPEN, index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    decided_by: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL")
    )
    decided_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    action: so.Mapped[ModAction] = so.relationship()


class Block(db.Model):
    """A personal block of one *name*: ``blocker`` no longer sees what was written under it.

    A block attaches to the name the blocker saw, never to the person behind it, so
    that blocks cannot tell anyone which names belong together (docs/PRIVACY.md):

    - ``space_id`` None: ``blocked_name`` is the person's everyday alias, blocked in
      every space where they write under it;
    - ``space_id`` set: ``blocked_name`` is a name used only in that space, blocked there.

    ``blocked_id`` keeps the rule exact (two accounts never share a name in one space,
    but a name can be reused after its owner left) and makes the row go with the
    account. ``blocked`` is not told. The rule lives in ``moderation/blocks.py``.
    """

    __tablename__ = "mod_blocks"
    # space_id NULL rows are not unique to the database (NULLs differ); blocks.block checks.
    __table_args__ = (sa.UniqueConstraint("blocker_id", "blocked_id", "space_id", "blocked_name"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    blocker_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"))
    blocked_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    space_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    # The name the blocker saw them under: their everyday alias, or a name used in one space.
    blocked_name: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())

    space: so.Mapped["Space | None"] = so.relationship("Space")  # noqa: F821


class Notice(db.Model):
    """A private note to one account (content hidden, appeal decided).

    Expires in 30 days at most, and never after what it concerns: the content
    (``target_kind``, ``target_id``) and the log line reporting it (``action_id``), whose
    lives can be shortened later (``moderation/expiry.py`` ``cap_copies``).
    """

    __tablename__ = "notices"
    # Sealed under a key per account and hour of expiry (forum/sealed.py).
    __sealed__ = Epoch(scope="account_id", expires="expires_at", length=HOUR, prefix="a")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # What to say: ``code`` (a key of ``moderation/wording.py`` ``NOTICES``) and its values
    # (``params``: JSON of ids, numbers and the moderator's reason as typed, sealed like
    # the text was), worded in the reader's language when shown. ``text``: "" for those;
    # rows older than migration 0020 that it could not map keep their English sentence.
    text: so.Mapped[str] = so.mapped_column(SealedText(500))
    code: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    params: so.Mapped[str | None] = so.mapped_column(SealedText())
    link: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    # What the notice is about (no foreign keys: the content may go first).
    action_id: so.Mapped[int | None] = so.mapped_column(index=True)
    target_kind: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    target_id: so.Mapped[int | None] = so.mapped_column()
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)
    # Shown on the notices page once: the header counts the others. Yes/no, no time.
    seen: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())


WORD_ACTIONS = ("block", "hold", "flag")  # strongest first


class WatchWord(db.Model):
    """A moderator's watched word or phrase for a space (glob with ``*``, never a regex)."""

    __tablename__ = "mod_watch_words"
    __table_args__ = (sa.UniqueConstraint("space_id", "pattern"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    pattern: so.Mapped[str] = so.mapped_column(sa.String(60))  # normalised form
    action: so.Mapped[str] = so.mapped_column(sa.String(6))  # WORD_ACTIONS
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
