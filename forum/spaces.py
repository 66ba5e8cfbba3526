"""Space services: create, list, join, leave, requests, roles, settings.

One function per action; each authorises through ``forum/access.py`` *before* it
looks at the input, so a non-member of a closed or hidden space gets the same
404 from a bad form as from a good one.

Names in a space: a member is shown by their space alias, if they chose one when
joining, or else their everyday alias. ``Membership.name_key`` holds the skeleton
of the name shown, so two members of one space never look alike. A space alias may
not be another account's everyday alias (that would be impersonation).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forum import access
from forum import aliases
from forum import clock
from forum import markdown
from forum import signals
from forum import text
from forum.errors import Conflict
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import ROLES
from forum.models import SPACE_KINDS
from forum.models import Account
from forum.models import JoinRequest
from forum.models import Membership
from forum.models import Organisation
from forum.models import Space
from forum.models import Thread
from forum.models import ThreadFollow
from forum.pagination import Page
from forum.pagination import paginate

PER_PAGE = 25
MAX_NAME = 100
MAX_DESCRIPTION = 500
MAX_QUESTION = 300
MAX_ANSWER = 1000
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62})[a-z0-9]$")
TAKEN = _l(
    "Someone in this space already goes by that name, or one that looks just like it. "
    "Please choose another name for this space."
)
YOUR_ALIAS_TAKEN = _l(
    "Someone in this space already goes by a name that looks like your alias. "
    "Please choose a different name for this space."
)


# --- names ----------------------------------------------------------------------


@dataclass
class ChosenName:
    space_alias: str | None
    name_key: str


def choose_name(space: Space, account: Account, raw: object) -> ChosenName:
    """Check the name ``account`` would show in ``space`` (blank: their alias)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        key = account.alias_key
        if _name_taken(space.id, key, account.id):
            raise Conflict(YOUR_ALIAS_TAKEN)
        return ChosenName(None, key)
    if not isinstance(raw, str):
        raise Invalid(_("Please type the space name as text."))
    name = aliases.normalise_alias(raw, noun="space name")
    key = aliases.alias_skeleton(name)
    if key == account.alias_key:
        return choose_name(space, account, None)
    other = db.session.scalar(sa.select(Account.id).where(Account.alias_key == key))
    if other is not None:
        raise Conflict(
            _("That name is someone's alias. Please choose another name for this space.")
        )
    if _name_taken(space.id, key, account.id):
        raise Conflict(TAKEN)
    return ChosenName(name, key)


def _name_taken(space_id: int, key: str, account_id: int) -> bool:
    return (
        db.session.scalar(
            sa.select(Membership.id).where(
                Membership.space_id == space_id,
                Membership.name_key == key,
                Membership.account_id != account_id,
            )
        )
        is not None
    )


def add_member(
    space: Space, account: Account, name: ChosenName, role: str = "member"
) -> Membership:
    """Add the membership (no commit). A race on the name ends as a Conflict."""
    membership = Membership(
        space_id=space.id,
        account_id=account.id,
        role=role,
        space_alias=name.space_alias,
        name_key=name.name_key,
        joined_at=clock.today(),
    )
    db.session.add(membership)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(TAKEN) from None
    db.session.execute(
        sa.delete(JoinRequest).where(
            JoinRequest.space_id == space.id, JoinRequest.account_id == account.id
        )
    )
    return membership


# --- creating and editing spaces ------------------------------------------------


def _slug_from(name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48].strip("-")
    if len(base) < 3:
        base = "space-" + secrets.token_hex(3)
    slug, n = base, 1
    while db.session.scalar(sa.select(Space.id).where(Space.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _check_slug(raw: object, name: str) -> str:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return _slug_from(name)
    slug = text.clean(raw, _("web address"), 64).lower()
    if not _SLUG.match(slug) or "--" in slug:
        raise Invalid(_("The web address may use a-z, 0-9 and single dashes, 3 to 64 characters."))
    if db.session.scalar(sa.select(Space.id).where(Space.slug == slug)) is not None:
        raise Conflict(_("A space already uses that web address. Please choose another."))
    return slug


@dataclass
class SpaceFields:
    name: str
    description: str
    rules: str
    join_question: str | None


def _fields(name: object, description: object, rules: object, join_question: object) -> SpaceFields:
    return SpaceFields(
        name=text.clean(name, _("name"), MAX_NAME),
        description=text.clean(
            description, _("short description"), MAX_DESCRIPTION, required=False
        ),
        rules=text.clean(
            rules, _("rules"), markdown.MAX_POST_CHARS, required=False, multiline=True
        ),
        join_question=text.clean(join_question, _("join question"), MAX_QUESTION, required=False)
        or None,
    )


def _kind(raw: object, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise Invalid(_("Please choose what kind of space this is, from the list."))
    return raw  # type: ignore[return-value]


def create_space(
    actor: Account,
    *,
    name: object,
    description: object = "",
    rules: object = "",
    kind: object = "open",
    slug: object = None,
    join_question: object = None,
    organisation: Organisation | None = None,
) -> Space:
    """Create a space; the creator owns it. Admins: open spaces; org staff: closed/hidden."""
    if organisation is None:
        if not actor.is_admin:
            raise Forbidden(_("Only the people who run this site can create open spaces."))
        kind = _kind(kind, ("open",))
    else:
        kind = _kind(kind, ("closed", "hidden"))
    fields = _fields(name, description, rules, join_question)
    space = Space(
        slug=_check_slug(slug, fields.name),
        name=fields.name,
        description=fields.description,
        rules=fields.rules,
        kind=kind,
        join_question=fields.join_question if kind == "closed" else None,
        organisation_id=organisation.id if organisation else None,
        created_at=clock.today(),
    )
    db.session.add(space)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(_("A space already uses that web address. Please choose another.")) from None
    add_member(space, actor, choose_name(space, actor, None), role="owner")
    db.session.commit()
    signals.space_created.send(space.id)  # realtime gives it its "General" room
    return space


def update_space(
    actor: Account,
    slug: object,
    *,
    name: object,
    description: object,
    rules: object,
    join_question: object,
    kind: object,
) -> Space:
    """Owners edit name, description, rules, join question; closed <-> hidden.

    Opening a space to everyone (or closing an open one) is for instance admins.
    """
    acc = access.access_space(actor, slug)
    acc.require_role("owner")
    fields = _fields(name, description, rules, join_question)
    space = acc.space
    kind = _kind(kind, SPACE_KINDS)
    if kind != space.kind and "open" in (kind, space.kind) and not actor.is_admin:
        raise Forbidden(
            _("Only the people who run this site can open or close a space to everyone.")
        )
    space.name = fields.name
    space.description = fields.description
    space.rules = fields.rules
    space.kind = kind
    space.join_question = fields.join_question if kind == "closed" else None
    db.session.commit()
    return space


# --- lists ------------------------------------------------------------------------


def list_spaces(actor: Account, page: int = 1) -> Page:
    """Open and closed spaces, and hidden ones the actor belongs to (admins: all)."""
    query = sa.select(Space).where(Space.id.in_(access.known_spaces(actor)))
    return paginate(query.order_by(Space.name, Space.id), page)


def my_spaces(actor: Account, page: int = 1) -> Page:
    query = (
        sa.select(Space)
        .join(Membership, Membership.space_id == Space.id)
        .where(Membership.account_id == actor.id)
        .order_by(Space.name, Space.id)
    )
    return paginate(query, page)


def member_of(actor: Account, space_ids: list[int]) -> set[int]:
    """Which of these spaces (one page's worth) the actor belongs to."""
    if not space_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(Membership.space_id).where(
                Membership.account_id == actor.id, Membership.space_id.in_(space_ids)
            )
        )
    )


def list_members(actor: Account, slug: object, page: int = 1) -> tuple[access.SpaceAccess, Page]:
    """Members by the name they show here, owners and moderators first."""
    acc = access.access_space(actor, slug)
    order = sa.case({"owner": 0, "moderator": 1}, value=Membership.role, else_=2)
    query = (
        sa.select(Membership)
        .where(Membership.space_id == acc.space.id)
        .order_by(order, Membership.joined_at, Membership.id)
    )
    return acc, paginate(query, page, 50)


# --- joining and leaving -------------------------------------------------------------


def join_open(actor: Account, slug: object, space_alias: object = None) -> Membership:
    """Join an open space in one tap, optionally under a name for this space only."""
    acc = access.access_space_shell(actor, slug)
    if acc.is_member:
        raise Conflict(_("You are already a member of this space."))
    if acc.space.kind != "open":
        raise Forbidden(_("This space is closed: ask to join, or use an invite link."))
    membership = add_member(acc.space, actor, choose_name(acc.space, actor, space_alias))
    db.session.commit()
    return membership


def leave(actor: Account, slug: object) -> None:
    """Leave in one tap. The last owner must hand over first."""
    acc = access.access_space_shell(actor, slug)
    membership = acc.membership
    if membership is None:
        raise Conflict(_("You are not a member of this space."))
    if membership.role == "owner" and _owner_count(acc.space.id) <= 1:
        raise Forbidden(_("You are the only owner. Make someone else an owner before you leave."))
    thread_ids = sa.select(Thread.id).where(Thread.space_id == acc.space.id)
    db.session.execute(
        sa.delete(ThreadFollow).where(
            ThreadFollow.account_id == actor.id, ThreadFollow.thread_id.in_(thread_ids)
        )
    )
    db.session.delete(membership)
    db.session.commit()
    # Like a removal: realtime takes their sockets out of this space's rooms and threads.
    signals.member_removed.send(acc.space.id, account_id=actor.id)


def _owner_count(space_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(
            Membership.space_id == space_id, Membership.role == "owner"
        )
    )


def request_join(
    actor: Account, slug: object, answer: object, space_alias: object = None
) -> JoinRequest:
    """Ask to join a closed space; its moderators decide."""
    acc = access.access_space_shell(actor, slug)
    space = acc.space
    if acc.is_member:
        raise Conflict(_("You are already a member of this space."))
    if space.kind != "closed":
        raise Forbidden(_("This space takes no requests. Open spaces you can just join."))
    answer = text.clean(
        answer, _("answer"), MAX_ANSWER, required=bool(space.join_question), multiline=True
    )
    name = choose_name(space, actor, space_alias)
    existing = db.session.scalar(
        sa.select(JoinRequest).where(
            JoinRequest.space_id == space.id, JoinRequest.account_id == actor.id
        )
    )
    if existing is not None:
        raise Conflict(_("Your request is already with the moderators. They will decide soon."))
    request = JoinRequest(
        space_id=space.id,
        account_id=actor.id,
        answer=answer,
        space_alias=name.space_alias,
        created_at=clock.today(),
    )
    db.session.add(request)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(
            _("Your request is already with the moderators. They will decide soon.")
        ) from None
    return request


def pending_request(actor: Account, space: Space) -> JoinRequest | None:
    return db.session.scalar(
        sa.select(JoinRequest).where(
            JoinRequest.space_id == space.id, JoinRequest.account_id == actor.id
        )
    )


def cancel_request(actor: Account, slug: object) -> None:
    acc = access.access_space_shell(actor, slug)
    request = pending_request(actor, acc.space)
    if request is None:
        raise NotFound(_("There is no request to cancel."))
    db.session.delete(request)
    db.session.commit()


def list_requests(actor: Account, slug: object, page: int = 1) -> tuple[access.SpaceAccess, Page]:
    acc = access.access_space(actor, slug)
    acc.require_role("moderator")
    query = (
        sa.select(JoinRequest)
        .where(JoinRequest.space_id == acc.space.id)
        .order_by(JoinRequest.created_at, JoinRequest.id)
    )
    return acc, paginate(query, page)


def request_name(request: JoinRequest) -> str:
    """The name a requester would show in the space (never both of their names)."""
    if request.space_alias:
        return request.space_alias
    return db.session.get(Account, request.account_id).alias


def decide_request(
    actor: Account, slug: object, request_id: object, approve: bool
) -> Membership | None:
    """Moderators approve (the requester joins under the name they chose) or decline."""
    acc = access.access_space(actor, slug)
    acc.require_role("moderator")
    request = db.session.get(JoinRequest, access.row_id(request_id))
    if request is None or request.space_id != acc.space.id:
        raise NotFound()
    if not approve:
        db.session.delete(request)
        db.session.commit()
        return None
    account = db.session.get(Account, request.account_id)
    try:
        name = choose_name(acc.space, account, request.space_alias)
    except (Conflict, Invalid):
        raise Conflict(
            _(
                "The name this person asked for is now taken in this space. Decline the request "
                "and let them ask again with another name."
            )
        ) from None
    membership = add_member(acc.space, account, name)
    db.session.commit()
    return membership


# --- roles ---------------------------------------------------------------------------


def set_role(actor: Account, slug: object, membership_id: object, role: object) -> Membership:
    """Owners make members moderators or owners, or take that back."""
    acc = access.access_space(actor, slug)
    acc.require_role("owner")
    if role not in ROLES:
        raise Invalid(_("Please choose member, moderator or owner."))
    target = db.session.get(Membership, access.row_id(membership_id))
    if target is None or target.space_id != acc.space.id:
        raise NotFound()
    if target.role == "owner" and role != "owner" and _owner_count(acc.space.id) <= 1:
        raise Forbidden(_("A space needs at least one owner. Make someone else an owner first."))
    target.role = role  # type: ignore[assignment]
    db.session.commit()
    return target
