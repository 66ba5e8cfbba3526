"""Buddies: two members of a shared space who look out for each other.

A member asks another by the name that member shows in a space they share.
Nothing else passes between them (no messages, no check-ins) until the request
is accepted. Either side ends it at any time, silently: the row is deleted, and
with it their direct messages. A member who blocked the other, either way, is
answered exactly as if nobody went by that name.

Names: each side sees the other only by the name they use in the space where
the request was made, never an alias from elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from forum import access
from forum import aliases
from forum import clock
from forum import ratelimit
from forum import signals
from forum import text
from forum.errors import Conflict
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.models import Membership
from forum.safety.models import Buddy

REQUEST_RATE = "20 per hour"
MAX_BUDDIES = 50
NOBODY = "Nobody in this space goes by that name."
FORMER = "a former member"
DM_HOURS = (1, 6, 24, 72, 168)  # how long direct messages may live; 168 (7 days) is the default


def _blocked_either(space_id: int, one: Membership, other: Membership) -> bool:
    """Either has blocked the other's name in this space (the block rule lives in moderation)."""
    return access.is_blocked(
        one.account_id, access.Written(other.account_id, other.display_name, space_id)
    ) or access.is_blocked(
        other.account_id, access.Written(one.account_id, one.display_name, space_id)
    )


def _membership(space_id: int, account_id: int) -> Membership | None:
    return db.session.scalar(
        sa.select(Membership).where(
            Membership.space_id == space_id, Membership.account_id == account_id
        )
    )


def blocked_pair(row: Buddy) -> bool:
    """Either side of a pairing has blocked the other's name in their shared space."""
    one, other = (
        _membership(row.space_id, row.requester_id),
        _membership(row.space_id, row.invitee_id),
    )
    if one is None or other is None:
        return False
    return _blocked_either(row.space_id, one, other)


def name_in(space_id: int, account_id: int) -> str:
    """The name ``account_id`` shows in ``space_id`` (or a neutral word if they left)."""
    membership = _membership(space_id, account_id)
    return membership.display_name if membership is not None else FORMER


def access_buddy(actor: Account | None, buddy_id: object, *, accepted: bool = True) -> Buddy:
    """A pairing the actor is part of (accepted unless told otherwise); NotFound otherwise."""
    if actor is None:
        raise NotFound()
    buddy_id = access.row_id(buddy_id)
    row = db.session.get(Buddy, buddy_id)
    if row is None or actor.id not in (row.requester_id, row.invitee_id):
        raise NotFound()
    if accepted and row.accepted_at is None:
        raise NotFound()
    return row


def _pair(a: int, b: int) -> Buddy | None:
    return db.session.scalar(
        sa.select(Buddy).where(
            sa.or_(
                sa.and_(Buddy.requester_id == a, Buddy.invitee_id == b),
                sa.and_(Buddy.requester_id == b, Buddy.invitee_id == a),
            )
        )
    )


def ask(actor: Account, slug: object, name: object) -> Buddy:
    """Ask the member who goes by ``name`` in this space to be buddies."""
    acc = access.access_space(actor, slug)
    acc.require_write()
    name = text.clean(name, "name they use in this space", aliases.RAW_LIMIT)
    ratelimit.hit(REQUEST_RATE, "buddy-request", actor.id)
    try:
        key = aliases.alias_skeleton(name)
    except Invalid:
        raise NotFound(NOBODY) from None
    other = db.session.scalar(
        sa.select(Membership).where(Membership.space_id == acc.space.id, Membership.name_key == key)
    )
    if (
        other is None
        or other.account_id == actor.id
        or _blocked_either(acc.space.id, acc.membership, other)
    ):
        raise NotFound(NOBODY)
    if _pair(actor.id, other.account_id) is not None:
        raise Conflict("You have already asked, or you are buddies already.")
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Buddy)
        .where(sa.or_(Buddy.requester_id == actor.id, Buddy.invitee_id == actor.id))
    )
    if count >= MAX_BUDDIES:
        raise Invalid(
            f"You can have at most {MAX_BUDDIES} buddies and requests. End an old one first."
        )
    row = Buddy(
        requester_id=actor.id,
        invitee_id=other.account_id,
        space_id=acc.space.id,
        created_at=clock.now(),
    )
    db.session.add(row)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict("You have already asked, or you are buddies already.") from None
    return row


def accept(actor: Account, buddy_id: object) -> Buddy:
    """The person asked says yes."""
    row = access_buddy(actor, buddy_id, accepted=False)
    if row.invitee_id != actor.id:
        raise NotFound()
    if row.accepted_at is None:
        row.accepted_at = clock.now()
        db.session.commit()
    return row


def end(actor: Account, buddy_id: object) -> None:
    """Decline, withdraw or end: the row and their messages are deleted; nobody is told."""
    row = access_buddy(actor, buddy_id, accepted=False)
    other = row.other(actor.id)
    db.session.delete(row)
    db.session.commit()
    signals.buddy_ended.send(buddy_id, account_ids=[actor.id, other])


def set_dm_hours(actor: Account, buddy_id: object, hours: object) -> Buddy:
    """Either side may shorten how long their messages live (never lengthen it)."""
    row = access_buddy(actor, buddy_id)
    try:
        value = int(hours)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        value = -1
    if value not in DM_HOURS:
        raise Invalid("Please choose one of the times offered.")
    if value > row.dm_hours:
        raise Invalid("Messages can only be made to disappear sooner.")
    row.dm_hours = value
    db.session.commit()
    return row


@dataclass
class BuddyView:
    row: Buddy
    name: str  # the other's name in the shared space
    space_name: str
    incoming: bool  # a request to the viewer, not yet answered

    @property
    def accepted(self) -> bool:
        return self.row.accepted_at is not None


def list_for(actor: Account) -> list[BuddyView]:
    """The viewer's buddies and requests, by name (those the viewer blocked are left out)."""
    rows = db.session.scalars(
        sa.select(Buddy)
        .where(sa.or_(Buddy.requester_id == actor.id, Buddy.invitee_id == actor.id))
        .order_by(Buddy.id)
        .limit(MAX_BUDDIES * 2)
    ).all()
    views = []
    for row in rows:
        other = row.other(actor.id)
        mine, theirs = access.membership_of(actor, row.space_id), _membership(row.space_id, other)
        incoming = row.accepted_at is None and row.invitee_id == actor.id
        if incoming and (
            mine is None or theirs is None or _blocked_either(row.space_id, mine, theirs)
        ):
            continue  # a request from someone blocked, or who left, is simply not shown
        views.append(
            BuddyView(
                row,
                theirs.display_name if theirs is not None else FORMER,
                mine.space.name if mine is not None else "",
                incoming,
            )
        )
    return views


def accepted_of(actor: Account) -> list[BuddyView]:
    return [view for view in list_for(actor) if view.accepted]
