"""How long content lives: each space's retention, inside the instance's bounds.

The instance admin sets the bounds in config (``RB_CHAT_RETENTION_MIN_HOURS`` ...);
a space's owners pick values inside them. A change applies to new content; an owner
may also apply a *shorter* policy to what exists (``expires_at = min(current,
created_at + new)``), never a longer one: nobody gets to resurrect a promise of
deletion. A thread may be given a shorter life than its space by its author or a
moderator. A post never outlives its thread.

Other services use ``chat_expires_at``, ``thread_expires_at`` and ``post_expires_at``
to stamp new rows, so every row's fate is decided when it is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from forum import access
from forum import sealed
from forum import signals
from forum import text
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.extensions import db
from forum.models import Account
from forum.models import Post
from forum.models import Space
from forum.models import Thread

_KEEP_WORDS = ("", "keep")
CHUNK = 1000  # rows per query when applying a shorter policy to existing content


@dataclass(frozen=True)
class Kept:
    """One kind of content a space's retention governs, for shortening what exists.

    ``model`` has ``id``, ``space_id``, ``created_at`` and ``expires_at``;
    ``lifetime(space)`` is how long it lives there now (None: kept). Forum registers
    threads and posts below; realtime registers chat in its ``init_app``.
    """

    name: str
    model: Any
    lifetime: Callable[[Space], timedelta | None]


_kept: dict[str, Kept] = {}


def register(kind: Kept) -> None:
    """Add or replace a kind by name (apps are built many times in tests)."""
    _kept[kind.name] = kind


@dataclass(frozen=True)
class Bounds:
    """What the instance admin allows space owners to choose."""

    chat_min_hours: int
    chat_max_hours: int
    post_min_days: int
    post_max_days: int
    allow_keep_posts: bool


@dataclass(frozen=True)
class RetentionChange:
    """What ``set_retention`` did: the new values and how many existing rows got shorter lives."""

    chat_hours: int
    post_days: int | None
    shortened: dict[str, int]


def bounds() -> Bounds:
    config = current_app.config
    chat_min = max(1, int(config["RB_CHAT_RETENTION_MIN_HOURS"]))
    post_min = max(1, int(config["RB_POST_RETENTION_MIN_DAYS"]))
    return Bounds(
        chat_min_hours=chat_min,
        chat_max_hours=max(chat_min, int(config["RB_CHAT_RETENTION_MAX_HOURS"])),
        post_min_days=post_min,
        post_max_days=max(post_min, int(config["RB_POST_RETENTION_MAX_DAYS"])),
        allow_keep_posts=bool(config["RB_ALLOW_KEEP_POSTS"]),
    )


# --- Effective values (stored values clamped to today's bounds) --------------------


def chat_hours(space: Space) -> int:
    """The space's chat retention, clamped: an admin's tighter bound applies at once."""
    limits = bounds()
    return min(max(space.chat_retention_hours, limits.chat_min_hours), limits.chat_max_hours)


def post_days(space: Space) -> int | None:
    """The space's post retention in days, clamped; None (keep) only where allowed."""
    limits = bounds()
    if space.post_retention_days is None:
        return None if limits.allow_keep_posts else limits.post_max_days
    return min(max(space.post_retention_days, limits.post_min_days), limits.post_max_days)


def describe(space: Space) -> str:
    """One sentence every reader of the space sees: how long its chat and posts live."""
    hours = chat_hours(space)
    chat = (
        ngettext("%(num)d day", "%(num)d days", hours // 24)
        if hours % 24 == 0
        else ngettext("%(num)d hour", "%(num)d hours", hours)
    )
    days = post_days(space)
    if days is None:
        return _(
            "Here, chat messages disappear %(chat)s after they are sent; threads and posts stay "
            "until their author or a moderator deletes them.",
            chat=chat,
        )
    return _(
        "Here, chat messages disappear %(chat)s after they are sent, threads and posts %(posts)s "
        "after they are written.",
        chat=chat,
        posts=ngettext("%(num)d day", "%(num)d days", days),
    )


def chat_lifetime(space: Space) -> timedelta:
    return timedelta(hours=chat_hours(space))


def post_lifetime(space: Space) -> timedelta | None:
    """Threads and posts alike: a thread's title and first post go together."""
    days = post_days(space)
    return None if days is None else timedelta(days=days)


register(Kept("threads", Thread, post_lifetime))
register(Kept("posts", Post, post_lifetime))


def test_chat_seconds() -> int:
    """The test-only chat lifetime in seconds (``RB_TEST_CHAT_RETENTION_SECONDS``), or 0.

    Hours are the smallest unit owners get; browser tests need a message that vanishes
    while they watch. Never honoured in production, whatever the environment says.
    """
    config = current_app.config
    if config["RB_ENV"] == "production":
        return 0
    return max(0, int(config.get("RB_TEST_CHAT_RETENTION_SECONDS") or 0))


def chat_expires_at(space: Space, now: datetime) -> datetime:
    """``expires_at`` for a chat message written now."""
    seconds = test_chat_seconds()
    if seconds:
        return now + timedelta(seconds=seconds)
    return now + timedelta(hours=chat_hours(space))


def thread_expires_at(space: Space, now: datetime) -> datetime | None:
    """``expires_at`` for a thread started now: its title and first post go together."""
    days = post_days(space)
    return None if days is None else now + timedelta(days=days)


def post_expires_at(space: Space, now: datetime, thread: Thread | None = None) -> datetime | None:
    """``expires_at`` for a post written now: the space's policy, capped by its thread."""
    own = thread_expires_at(space, now)
    if thread is None or thread.expires_at is None:
        return own
    return thread.expires_at if own is None else min(own, thread.expires_at)


# --- Input ----------------------------------------------------------------------------


def _whole_number(value: object, low: int, high: int, what: str) -> int:
    """The one whole-number rule (forum/text.py); here a blank is not a choice."""
    number = text.whole_number(value, what, low, high)
    if number is None:
        raise Invalid(
            _(
                "The %(what)s must be a whole number from %(low)s to %(high)s.",
                what=what,
                low=low,
                high=high,
            )
        )
    return number


def _post_days(value: object, limits: Bounds) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in _KEEP_WORDS):
        if not limits.allow_keep_posts:
            raise Invalid(
                _(
                    "Days to keep posts must be from %(post_min_days)s to "
                    "%(post_max_days)s: this site does not keep posts forever.",
                    post_min_days=limits.post_min_days,
                    post_max_days=limits.post_max_days,
                )
            )
        return None
    return _whole_number(value, limits.post_min_days, limits.post_max_days, _("days to keep posts"))


# --- Services ---------------------------------------------------------------------------


def owned_space(actor: Account | None, slug: object) -> Space:
    """The space, if the actor owns it. 404 if they may not see it, 403 if not an owner."""
    space_access = access.access_space(actor, slug)
    if not space_access.has_role("owner"):
        raise Forbidden(_("Only the space's owners can change how long things are kept."))
    return space_access.space


def _cap_lives(model: type, where: sa.ColumnElement[bool], lifetime: timedelta) -> int:
    """``expires_at = min(expires_at, created_at + lifetime)`` for live rows, in chunks.

    Done in Python (keyset pages of CHUNK rows) because date arithmetic on columns
    differs between SQLite and PostgreSQL; aware datetimes stay exact this way.
    """
    changed = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            sa.select(model.id, model.created_at, model.expires_at)
            .where(where, model.id > last_id, access.live(model.expires_at))
            .order_by(model.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return changed
        last_id = rows[-1].id
        updates = [
            {"id": row.id, "expires_at": row.created_at + lifetime}
            for row in rows
            if row.expires_at is None or row.expires_at > row.created_at + lifetime
        ]
        if updates:
            db.session.execute(sa.update(model), updates)
            changed += len(updates)
            # Text whose expiry moved earlier moves to the earlier epoch's key.
            sealed.reseal(model, model.id.in_([row["id"] for row in updates]))


def _cap_posts_by_threads(where: sa.ColumnElement[bool]) -> int:
    """No post outlives its thread: portable SQL, comparing like with like."""
    thread_expiry = (
        sa.select(Thread.expires_at).where(Thread.id == Post.thread_id).scalar_subquery()
    )
    outlives = sa.exists().where(
        Thread.id == Post.thread_id,
        Thread.expires_at.is_not(None),
        sa.or_(Post.expires_at.is_(None), Post.expires_at > Thread.expires_at),
    )
    result = db.session.execute(
        sa.update(Post).where(where, outlives).values(expires_at=thread_expiry),
        execution_options={"synchronize_session": False},
    )
    sealed.reseal(Post, where)  # each moved post to its new epoch's key
    return result.rowcount or 0


def set_retention(
    actor: Account | None,
    space: Space,
    chat_hours: object,
    post_days: object,
    apply_to_existing: bool = False,
) -> RetentionChange:
    """Set how long the space keeps chat (hours) and posts (days; None = keep, if allowed).

    Owners only. New content follows the new values. With ``apply_to_existing`` a
    shorter policy also shortens existing content; a longer one changes nothing
    that exists. Raises NotFound, Forbidden or Invalid.
    """
    space = owned_space(actor, space.slug)
    limits = bounds()
    hours = _whole_number(
        chat_hours, limits.chat_min_hours, limits.chat_max_hours, _("hours to keep chat")
    )
    days = _post_days(post_days, limits)
    if not isinstance(apply_to_existing, bool):
        raise Invalid(_("Choose whether to apply this to what is already there."))
    space.chat_retention_hours = hours
    space.post_retention_days = days
    shortened = dict.fromkeys(_kept, 0)
    if apply_to_existing:
        for kind in _kept.values():
            lifetime = kind.lifetime(space)
            if lifetime is not None:
                model = kind.model
                shortened[kind.name] = _cap_lives(model, model.space_id == space.id, lifetime)
        if days is not None:
            shortened["posts"] += _cap_posts_by_threads(Post.space_id == space.id)
    db.session.commit()
    signals.retention_changed.send(
        space.id, chat_hours=hours, post_days=days, applied_to_existing=apply_to_existing
    )
    return RetentionChange(chat_hours=hours, post_days=days, shortened=shortened)


def set_thread_lifetime(actor: Account | None, thread: Thread | int, days: object) -> Thread:
    """Make a thread (and its posts) disappear ``days`` after it was started: shorter only.

    Its author or the space's moderators. Raises NotFound, Forbidden or Invalid.
    """
    thread_id = thread.id if isinstance(thread, Thread) else thread
    found, space_access = access.access_thread(actor, thread_id)
    if found.author_id != space_access.account.id and not space_access.has_role("moderator"):
        raise Forbidden(_("Only the thread's author or a moderator can change how long it lasts."))
    limits = bounds()
    number = _whole_number(days, 1, limits.post_max_days, _("days"))
    new = found.created_at + timedelta(days=number)
    if found.expires_at is not None and new >= found.expires_at:
        raise Invalid(_("A thread's life can only be made shorter, never longer."))
    found.expires_at = new  # may already be past: then it is gone from every page at once
    db.session.flush()
    _cap_posts_by_threads(Post.thread_id == found.id)
    db.session.commit()
    signals.thread_shortened.send(found.id, space_id=found.space_id, expires_at=new)
    return found
