"""Flags: a member reports an item; enough weight hides it at once, pending review."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forum import clock
from forum import signals
from forum import text
from forum.errors import Conflict
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.extensions import db
from forum.models import Account
from forum.models import Space
from moderation import modlog
from moderation import notices
from moderation import targets
from moderation import trust
from moderation.models import FLAG_OPEN
from moderation.models import REASONS
from moderation.models import Flag

NOTE_MAX = 200
ALREADY = _l("You have already flagged this. Thank you: the moderators will look at it.")


@dataclass
class FlagResult:
    flag: Flag
    hidden: bool
    target: targets.Target | None = None  # what was flagged (the page to go back to)
    space: Space | None = None


def clean_reason(reason: object, note: object) -> tuple[str, str | None]:
    if not isinstance(reason, str) or reason not in REASONS:
        raise Invalid(_("Please choose a reason from the list."))
    if reason != "other":
        return reason, None
    if note is None or (isinstance(note, str) and not note.strip()):
        raise Invalid(_('Please say in a few words what is wrong (needed for "Other").'))
    return reason, text.clean(note, _("reason"), NOTE_MAX)


def open_weight(kind: str, target_id: int) -> int:
    """Summed weight (hundredths) of the open flags on an item."""
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Flag.weight), 0)).where(
            Flag.target_kind == kind, Flag.target_id == target_id, Flag.status == FLAG_OPEN
        )
    )


def flag(
    actor: Account, kind: object, target_id: object, reason: object, note: object = None
) -> FlagResult:
    """Flag an item the actor can see. Raises NotFound, Forbidden, Conflict or Invalid."""
    target, space_access = targets.load(actor, kind, target_id)
    if target.author_id == actor.id:
        raise Forbidden(_("You can't flag your own post. You can edit or delete it instead."))
    reason, note = clean_reason(reason, note)
    existing = db.session.scalar(
        sa.select(Flag.id).where(
            Flag.target_kind == target.kind,
            Flag.target_id == target.id,
            Flag.flagger_id == actor.id,
        )
    )
    if existing is not None:
        raise Conflict(ALREADY)
    now = clock.now()
    # The standing of the name the actor shows in this space, never of their account.
    stats = trust.stats_for(actor, space_access.membership)
    is_moderator = space_access.has_role("moderator")
    weight = trust.flag_weight(stats, now)
    if is_moderator:
        weight = max(weight, trust.LEVEL_WEIGHT[trust.TRUSTED])
    row = Flag(
        space_id=target.space_id,
        target_kind=target.kind,
        target_id=target.id,
        flagger_id=actor.id,
        author_id=target.author_id,
        reason=reason,
        note=note,
        weight=weight,
        created_at=now,
    )
    db.session.add(row)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()  # a double submit raced us; the unique constraint decided
        raise Conflict(ALREADY) from None
    hide = False
    if target.hidden_at is None:
        threshold = max(1, space_access.space.flag_threshold) * 100
        outing_alone = reason == "outing" and (
            is_moderator or trust.can_hide_outing_alone(stats, now)
        )
        hide = outing_alone or open_weight(target.kind, target.id) >= threshold
    if hide:
        target.obj.hidden_at = now
        reasons = sorted(set(open_reasons(target)))  # keys, worded when read
        entry = modlog.write(
            space_access,
            target.space_id,
            "auto_hide",
            target=target,
            reason_code="flagged_by_members",
            reason_values={"reasons": reasons},
            excerpt=not has_outing(target),
        )
        notices.notify(
            target.author_id,
            "flag_hidden",
            {"space": space_access.space.id, "kind": target.kind, "reasons": reasons},
            f"/s/{space_access.space.id}/mod/appeal/{entry.id}",
            action=entry,
            target=target,
        )
    db.session.commit()
    if hide:
        signals.content_hidden.send(target.space_id, **target.payload())
    return FlagResult(row, hide, target, space_access.space)


def system_flag(target: targets.Target, word: str, *, hold: bool = False) -> Flag:
    """A flag raised by the system (a watched word), in the caller's transaction.

    The note is the word alone, with a code for the sentence the queue shows it in
    (``wording.FLAG_NOTES``, worded in the reader's language).

    ``hold=True`` also hides the item until a moderator keeps it. Weight 0: it
    puts the item in the queue but never adds to the auto-hide sum.
    """
    now = clock.now()
    if hold and target.hidden_at is None:
        target.obj.hidden_at = now
    row = Flag(
        space_id=target.space_id,
        target_kind=target.kind,
        target_id=target.id,
        flagger_id=None,
        author_id=target.author_id,
        reason="other",
        note=word[:NOTE_MAX],
        note_code="watch_hold" if hold else "watch_flag",
        weight=0,
        created_at=now,
    )
    db.session.add(row)
    return row


def open_reasons(target: targets.Target) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(Flag.reason).where(
                Flag.target_kind == target.kind,
                Flag.target_id == target.id,
                Flag.status == FLAG_OPEN,
            )
        )
    )


def has_outing(target: targets.Target) -> bool:
    return "outing" in open_reasons(target)
