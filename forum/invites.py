"""Invite links: made and revoked by a space's owners, spent by people joining.

Only the SHA-256 of a code is stored; the link is shown once, when it is made.
A code that is spent, expired or revoked says so plainly (410), without naming the
space; an unknown code is a 404. An invite is the one way a non-member ever sees a
hidden space.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from forum import access
from forum import clock
from forum import pagination
from forum import ratelimit
from forum import spaces
from forum import text
from forum.errors import NotFound
from forum.errors import ServiceError
from forum.extensions import db
from forum.i18n import N_
from forum.models import Account
from forum.models import Invite
from forum.models import Membership
from forum.models import Space

_CODE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_USES = 1000
MAX_DAYS = 365


class InviteUnusable(ServiceError):
    """The code existed but can no longer be used (spent, expired or revoked)."""

    status = 410


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass
class NewInvite:
    invite: Invite
    code: str


def create_invite(
    actor: Account, slug: object, *, label: object = "", max_uses: object = 1, days: object = 7
) -> NewInvite:
    """Make an invite link (owners). ``max_uses`` blank = no limit; ``days`` blank/0 = no expiry."""
    acc = access.access_space(actor, slug)
    acc.require_role("owner")
    label = text.clean(label, _("label"), 100, required=False)
    uses = text.whole_number(max_uses, _("number of uses"), 1, MAX_USES)
    days = text.whole_number(days, _("number of days"), 0, MAX_DAYS, default=0)
    code = secrets.token_urlsafe(18)
    now = clock.now()
    invite = Invite(
        space_id=acc.space.id,
        code_hash=hash_code(code),
        label=label,
        created_by=actor.id,
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
        max_uses=uses,
        uses=0,
    )
    db.session.add(invite)
    db.session.commit()
    return NewInvite(invite, code)


def list_invites(
    actor: Account, slug: object, page: int = 1
) -> tuple[access.SpaceAccess, pagination.Page]:
    acc = access.access_space(actor, slug)
    acc.require_role("owner")
    query = (
        sa.select(Invite)
        .where(Invite.space_id == acc.space.id)
        .order_by(Invite.created_at.desc(), Invite.id.desc())
    )
    return acc, pagination.paginate(query, page)


def revoke_invite(actor: Account, slug: object, invite_id: object) -> Invite:
    acc = access.access_space(actor, slug)
    acc.require_role("owner")
    invite = db.session.get(Invite, access.row_id(invite_id))
    if invite is None or invite.space_id != acc.space.id:
        raise NotFound()
    if invite.revoked_at is None:
        invite.revoked_at = clock.now()
        db.session.commit()
    return invite


def state(invite: Invite) -> str:
    """ "usable", "revoked", "expired" or "spent"."""
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at is not None and invite.expires_at <= clock.now():
        return "expired"
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return "spent"
    return "usable"


MESSAGES = {
    "revoked": N_(
        "This invite link was withdrawn by the people who made it. Ask them for a new one."
    ),
    "expired": N_("This invite link has expired. Ask the person who sent it for a new one."),
    "spent": N_("This invite link has been used up. Ask the person who sent it for a new one."),
}


def find_invite(actor: Account, code: object) -> tuple[Invite, Space, Membership | None]:
    """The usable invite behind ``code``; 404 if unknown, 410 if no longer usable."""
    if not isinstance(code, str) or not _CODE.match(code):
        raise NotFound(_("We don't know that invite link. Check that it was copied whole."))
    invite = db.session.scalar(sa.select(Invite).where(Invite.code_hash == hash_code(code)))
    if invite is None:
        ratelimit.hit(
            "30 per hour", "invite-miss", actor.id
        )  # guessing is pointless; make it slow too
        raise NotFound(_("We don't know that invite link. Check that it was copied whole."))
    current = state(invite)
    if current != "usable":
        raise InviteUnusable(_(MESSAGES[current]))
    space = db.session.get(Space, invite.space_id)
    return invite, space, access.membership_of(actor, space.id)


def accept_invite(actor: Account, code: object, space_alias: object = None) -> Membership:
    """Join the invite's space (any kind), optionally under a name for this space only."""
    invite, space, membership = find_invite(actor, code)
    if membership is not None:
        return membership  # already in: no use is spent
    name = spaces.choose_name(space, actor, space_alias)
    # Count the use only if the invite is still usable at this instant (races, clocks).
    now = clock.now()
    spent = db.session.execute(
        sa.update(Invite)
        .where(
            Invite.id == invite.id,
            Invite.revoked_at.is_(None),
            sa.or_(Invite.expires_at.is_(None), Invite.expires_at > now),
            sa.or_(Invite.max_uses.is_(None), Invite.uses < Invite.max_uses),
        )
        .values(uses=Invite.uses + 1)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:
        db.session.rollback()
        raise InviteUnusable(_(MESSAGES["spent"]))
    membership = spaces.add_member(space, actor, name)
    db.session.commit()
    return membership
