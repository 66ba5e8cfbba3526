"""Moderator actions on flagged content and members, and the review queue.

Every action: checks the actor's role in the space (``forum/access.py``), refuses
to act on the moderator's own content or flags against it, changes the rows,
writes its log line and the author's notice in the SAME transaction, commits
once, then sends its signal for realtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forum import access
from forum import clock
from forum import markdown
from forum import search
from forum import signals
from forum import text
from forum.access import SpaceAccess
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.models import AuthSession
from forum.models import Membership
from forum.models import Thread
from forum.pagination import paginate
from moderation import flags
from moderation import modlog
from moderation import notices
from moderation import targets
from moderation import trust
from moderation import wording
from moderation.models import FLAG_DISMISSED
from moderation.models import FLAG_OPEN
from moderation.models import FLAG_UPHELD
from moderation.models import REASONS
from moderation.models import Flag
from moderation.targets import Target

REASON_MAX = 300
# A redacted text obeys the limits of what it replaces: (field name, limit, multi-line).
REDACT_RULES = {
    "thread": ("title", markdown.MAX_TITLE_CHARS, False),
    "post": ("post", markdown.MAX_POST_CHARS, True),
    "chat": ("message", markdown.MAX_CHAT_CHARS, True),
}
MUTE_HOURS = (1, 24, 72, 168, 720)
SUSPEND_DAYS = (1, 7, 30, 365)
PER_PAGE = 20
OWN = _l("You can't moderate your own content or flags against you. Another moderator will.")


@dataclass
class QueueItem:
    kind: str
    id: int
    excerpt: str
    author_name: str
    weight: float
    hidden: bool
    own: bool
    text: str = ""
    reasons: list[tuple[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _reason(reason: object) -> str:
    return text.clean(reason, _("reason"), REASON_MAX, required=False)


def _moderate(
    actor: Account, slug: object, kind: object, target_id: object
) -> tuple[Target, SpaceAccess]:
    """The item, for a moderator of its space; NotFound/Forbidden otherwise."""
    space_access = access.access_space(actor, slug)
    space_access.require_role("moderator")
    target = targets.get_live(kind, target_id)
    if target is None or target.space_id != space_access.space.id:
        raise NotFound()
    if target.author_id == actor.id:
        raise Forbidden(OWN)
    return target, space_access


def _resolve(target: Target, status: str) -> None:
    """Decide the item's open flags; the flagging names' and the author's standing count it."""
    trust.record_decision(
        target.kind, target.id, target.space_id, status, target.author_id, target.author_name
    )
    db.session.execute(
        sa.update(Flag)
        .where(
            Flag.target_kind == target.kind, Flag.target_id == target.id, Flag.status == FLAG_OPEN
        )
        .values(status=status, resolved_at=clock.now(), note=None, note_code=None)
    )


@dataclass(frozen=True)
class Why:
    """An action's reason: the moderator's words as typed, else the flags' reasons (keys,
    worded in each reader's language: ``moderation/wording.py``)."""

    typed: str
    code: str | None = None
    reasons: tuple[str, ...] = ()

    def log(self, **more: int) -> dict[str, Any]:
        """``modlog.write``'s reason arguments (``more``: a duration, hours or days)."""
        values: dict[str, Any] = {"reasons": list(self.reasons)} if self.reasons else {}
        return {"reason": self.typed, "reason_code": self.code, "reason_values": values | more}

    def notice(self) -> dict[str, Any]:
        """A notice's reason values."""
        if self.typed:
            return {"reason": self.typed}
        if self.code is None:
            return {}
        return {"reason_code": self.code, "reasons": list(self.reasons)}


def _why(target: Target, given: str) -> Why:
    """The typed reason, or the item's open flags' reasons when none was typed."""
    if given:
        return Why(given)
    reasons = tuple(sorted(set(flags.open_reasons(target))))
    return Why("", "flagged", reasons) if reasons else Why("")


def _appeal_link(space_access: SpaceAccess, action_id: int) -> str:
    return f"/s/{space_access.space.id}/mod/appeal/{action_id}"


# --- Queue --------------------------------------------------------------------


def review_queue(
    actor: Account, slug: object, page: int = 1
) -> tuple[SpaceAccess, list[QueueItem], bool]:
    """Flagged items with open flags, heaviest first (moderators only)."""
    space_access = access.access_space(actor, slug)
    space_access.require_role("moderator")
    total = sa.func.sum(Flag.weight)
    groups = paginate(
        sa.select(Flag.target_kind, Flag.target_id, total)
        .where(Flag.space_id == space_access.space.id, Flag.status == FLAG_OPEN)
        .group_by(Flag.target_kind, Flag.target_id)
        .order_by(total.desc(), sa.func.min(Flag.id)),
        page,
        PER_PAGE,
        scalars=False,
    )
    items = []
    for kind, target_id, weight in groups.items:
        target = targets.get_live(kind, target_id)
        if target is None:
            continue  # expired or deleted: the sweeper removes its flags
        rows = db.session.execute(
            sa.select(Flag.reason, Flag.note, Flag.note_code)
            .where(Flag.target_kind == kind, Flag.target_id == target_id, Flag.status == FLAG_OPEN)
            .limit(200)
        ).all()
        counts: dict[str, int] = {}
        for reason, _note, _code in rows:
            counts[REASONS[reason]] = counts.get(REASONS[reason], 0) + 1
        items.append(
            QueueItem(
                kind,
                target_id,
                target.excerpt(),
                target.author_name,
                (weight or 0) / 100,
                target.hidden_at is not None,
                target.author_id == actor.id,
                target.text,
                sorted(counts.items()),
                [wording.flag_note(code, note) for _r, note, code in rows if note],
            )
        )
    return space_access, items, groups.has_next


# --- Content actions ----------------------------------------------------------


def keep(
    actor: Account, slug: object, kind: object, target_id: object, reason: object = ""
) -> None:
    """Dismiss the flags; the item shows again."""
    target, space_access = _moderate(actor, slug, kind, target_id)
    reason = _reason(reason)
    was_hidden = target.hidden_at is not None
    target.obj.hidden_at = None
    modlog.write(
        space_access,
        target.space_id,
        "keep",
        target=target,
        reason=reason,
        moderator=actor,
        excerpt=not flags.has_outing(target),
    )
    _resolve(target, FLAG_DISMISSED)
    db.session.commit()
    if was_hidden:
        signals.content_unhidden.send(target.space_id, **target.payload())


def _upheld(
    actor: Account,
    space_access: SpaceAccess,
    target: Target,
    action: str,
    why: Why,
) -> None:
    """A hide or a delete (no commit): the log line (with an excerpt for the appeal window,
    unless the item outs someone), its flags resolved as upheld, and its author told what
    was done, why, and how to appeal."""
    entry = modlog.write(
        space_access,
        target.space_id,
        action,
        target=target,
        **why.log(),
        moderator=actor,
        excerpt=not flags.has_outing(target),
    )
    _resolve(target, FLAG_UPHELD)
    notices.notify(
        target.author_id,
        {"hide": "hidden", "delete": "deleted"}[action],
        {"space": space_access.space.id, "kind": target.kind, **why.notice()},
        _appeal_link(space_access, entry.id),
        action=entry,
        target=target,
    )


def hide(
    actor: Account, slug: object, kind: object, target_id: object, reason: object = ""
) -> None:
    """Hide the item (its author and moderators still see it); the author may appeal."""
    target, space_access = _moderate(actor, slug, kind, target_id)
    why = _why(target, _reason(reason))
    target.obj.hidden_at = target.hidden_at or clock.now()
    _upheld(actor, space_access, target, "hide", why)
    db.session.commit()
    signals.content_hidden.send(target.space_id, **target.payload())


def delete(
    actor: Account, slug: object, kind: object, target_id: object, reason: object = ""
) -> None:
    """Delete the row for good. A thread's first post takes its thread with it.

    The log line keeps a short excerpt for the appeal window, shown to moderators
    only (``moderation/modlog.py``); the rest of the text leaves the files now.
    """
    target, space_access = _moderate(actor, slug, kind, target_id)
    why = _why(target, _reason(reason))
    payload = target.payload()
    _upheld(actor, space_access, target, "delete", why)
    space_id = target.space_id  # read now: after the commit the row is gone
    if target.kind == "post" and target.obj.is_first:
        db.session.delete(db.session.get(Thread, target.obj.thread_id))
        payload = {**payload, "kind": "thread", "id": target.obj.thread_id}
    else:
        db.session.delete(target.obj)
    db.session.commit()
    search.compact()
    signals.content_deleted.send(space_id, **payload)


def redact(
    actor: Account,
    slug: object,
    kind: object,
    target_id: object,
    new_text: object,
    reason: object = "",
) -> None:
    """Replace the text with the moderator's edit (personal information taken out).

    The log keeps no excerpt of either version, and earlier excerpts of this item
    are blanked. After the commit ``search.compact`` makes the old text leave the
    SQLite files (search index, WAL, freed cells zeroed by ``secure_delete``).
    """
    target, space_access = _moderate(actor, slug, kind, target_id)
    typed = _reason(reason)
    if not isinstance(new_text, str) or not new_text.strip():
        raise Invalid(_("Please give the text with the personal information taken out."))
    # The same rules as the author's own text (length, control and bidi characters).
    field, limit, multiline = REDACT_RULES[target.kind]
    new_text = text.clean(new_text, field, limit, multiline=multiline)
    if new_text == target.text:
        raise Invalid(_("The text is unchanged. Take the personal information out, then save."))
    now = clock.now()
    if target.kind == "thread":
        target.obj.title = new_text
    else:
        target.obj.body = new_text
    if target.kind == "post":
        target.obj.edited_at = now
    was_hidden = target.hidden_at is not None
    target.obj.hidden_at = None
    modlog.forget_excerpts(target.kind, [target.id])  # earlier hides may have quoted it
    entry = modlog.write(
        space_access,
        target.space_id,
        "redact",
        target=target,
        reason=typed,
        reason_code=None if typed else "personal",
        moderator=actor,
        excerpt=False,
    )
    _resolve(target, FLAG_UPHELD)
    notices.notify(
        target.author_id,
        "redacted",
        {"space": space_access.space.id, "kind": target.kind},
        None,
        action=entry,
        target=target,
    )
    db.session.commit()
    search.compact()
    signals.content_redacted.send(target.space_id, body=new_text, **target.payload())
    if was_hidden:
        signals.content_unhidden.send(target.space_id, **target.payload())


def lock_thread(
    actor: Account, slug: object, kind: object, target_id: object, reason: object = ""
) -> None:
    """From the queue: lock the thread (of a thread or post): no more replies."""
    target, space_access = _moderate(actor, slug, kind, target_id)
    if target.kind not in ("post", "thread"):
        raise Invalid(_("Only forum threads can be locked."))
    reason = _reason(reason)
    thread = target.obj if target.kind == "thread" else db.session.get(Thread, target.obj.thread_id)
    if thread.author_id == actor.id:
        raise Forbidden(OWN)
    _switch(space_access, thread, "locked", True, reason, actor)
    db.session.commit()


# --- Thread switches (the thread page's Pin and Lock buttons) ---


def set_pinned(actor: Account, thread_id: object, pinned: bool, reason: object = "") -> Thread:
    """Pin a thread to the top of its space's list, or unpin it (moderators)."""
    thread, space_access = access.access_thread(actor, thread_id)
    space_access.require_role("moderator")
    _switch(space_access, thread, "pinned", bool(pinned), _reason(reason), actor)
    db.session.commit()
    return thread


def set_locked(actor: Account, thread_id: object, locked: bool, reason: object = "") -> Thread:
    """Lock a thread (replies from moderators only) or unlock it (moderators)."""
    thread, space_access = access.access_thread(actor, thread_id)
    space_access.require_role("moderator")
    _switch(space_access, thread, "locked", bool(locked), _reason(reason), actor)
    db.session.commit()
    return thread


SWITCH_ACTIONS = {
    ("pinned", True): "pin",
    ("pinned", False): "unpin",
    ("locked", True): "lock",
    ("locked", False): "unlock",
}


def _switch(
    space_access: SpaceAccess, thread: Thread, column: str, on: bool, reason: str, actor: Account
) -> bool:
    """Set ``thread.<column>`` and log it in the same transaction; False if it already was."""
    if getattr(thread, column) == on:
        return False  # a repeated click changes nothing and logs nothing
    setattr(thread, column, on)
    modlog.write(
        space_access,
        thread.space_id,
        SWITCH_ACTIONS[column, on],
        target=targets.Target("thread", thread),
        reason=reason,
        moderator=actor,
    )
    return True


# --- Member actions (on the author of an item: the UI never handles account ids) ---


def _author_membership(target: Target, space_access: SpaceAccess, actor: Account) -> Membership:
    if target.author_id is None:
        raise Invalid(_("That author's account no longer exists."))
    membership = access.membership_of(db.session.get(Account, target.author_id), target.space_id)
    if membership is None:
        raise Invalid(_("They are no longer a member of this space."))
    outranks = actor.is_admin or (space_access.has_role("owner") and membership.role != "owner")
    if membership.role != "member" and not outranks:
        raise Forbidden(_("Only the space's owner can do that to a moderator."))
    return membership


def _hours(value: object, allowed: tuple[int, ...], what: str) -> int:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        number = -1
    if number not in allowed:
        raise Invalid(_("Please choose one of the times offered."))
    return number


def mute(
    actor: Account,
    slug: object,
    kind: object,
    target_id: object,
    hours: object,
    reason: object = "",
) -> None:
    """Mute the item's author in this space for a while (they can read, not post)."""
    target, space_access = _moderate(actor, slug, kind, target_id)
    hours = _hours(hours, MUTE_HOURS, "durations")
    why = _why(target, _reason(reason))
    membership = _author_membership(target, space_access, actor)
    until = clock.now() + timedelta(hours=hours)
    membership.muted_until = until
    entry = modlog.write(
        space_access,
        target.space_id,
        "mute",
        target=target,
        **why.log(hours=hours),
        moderator=actor,
        excerpt=not flags.has_outing(target),
    )
    notices.notify(
        target.author_id,
        "muted",
        {"space": space_access.space.id, "hours": hours, **why.notice()},
        _appeal_link(space_access, entry.id),
        action=entry,
        target=target,
    )
    db.session.commit()
    signals.member_muted.send(target.space_id, account_id=target.author_id, until=until)


def remove_member(
    actor: Account, slug: object, kind: object, target_id: object, reason: object = ""
) -> None:
    """Remove the item's author from this space (they may ask to join again)."""
    target, space_access = _moderate(actor, slug, kind, target_id)
    why = _why(target, _reason(reason))
    membership = _author_membership(target, space_access, actor)
    account_id = membership.account_id
    db.session.delete(membership)
    modlog.write(
        space_access,
        target.space_id,
        "remove",
        target=target,
        **why.log(),
        moderator=actor,
        excerpt=not flags.has_outing(target),
    )
    notices.notify(account_id, "removed", {"space": space_access.space.id, **why.notice()})
    db.session.commit()
    signals.member_removed.send(target.space_id, account_id=account_id)


def suspend(
    actor: Account, slug: object, kind: object, target_id: object, days: object, reason: object = ""
) -> None:
    """Instance admins only: suspend the item's author everywhere and sign them out."""
    target, space_access = _moderate(actor, slug, kind, target_id)
    if not actor.is_admin:
        raise Forbidden(_("Only the people who run this site can suspend an account."))
    days = _hours(days, SUSPEND_DAYS, "durations")
    why = _why(target, _reason(reason))
    account = db.session.get(Account, target.author_id) if target.author_id is not None else None
    if account is None:
        raise Invalid(_("That author's account no longer exists."))
    if account.is_admin:
        raise Forbidden(_("An instance admin can't be suspended here."))
    until = clock.now() + timedelta(days=days)
    account.suspended_until = until
    session_ids = list(
        db.session.scalars(sa.select(AuthSession.id).where(AuthSession.account_id == account.id))
    )
    db.session.execute(sa.delete(AuthSession).where(AuthSession.account_id == account.id))
    modlog.write(
        space_access,
        target.space_id,
        "suspend",
        target=target,
        **why.log(days=days),
        moderator=actor,
        excerpt=not flags.has_outing(target),
    )
    db.session.commit()
    signals.account_suspended.send(account.id, until=until)
    if session_ids:
        signals.account_signed_out.send(account.id, session_ids=session_ids)


# --- Urgent alerts (forum/safety/alerts.py removes; the log line is moderation's) ---


def log_alert_removal(
    space_access: SpaceAccess,
    moderator: Account,
    *,
    author_id: int | None,
    author_name: str,
    reason: str,
) -> None:
    """The log line for a removed urgent alert, in the remover's transaction.

    No excerpt: an alert may describe a person or a place, and its text leaves with it.
    Not appealable (``appeals.APPEALABLE``): an alert lives hours, an appeal takes longer.
    """
    modlog.write(
        space_access,
        space_access.space.id,
        "alert_remove",
        target_account_id=author_id,
        target_name=author_name,
        reason=reason,
        moderator=moderator,
    )
