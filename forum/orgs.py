"""Organisations (NGOs, clinics): admins create them and add staff; staff create
closed or hidden spaces under them and own those spaces.

An organisation page exists only for instance admins and the organisation's own
staff (being staff of a health project is itself sensitive); to everyone else it
is a 404. Staff are ordinary aliases and see members only as the names those
members show in the organisation's spaces: nothing here reaches further.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import gettext as _

from forum import access
from forum import accounts
from forum import clock
from forum import pagination
from forum import spaces
from forum import text
from forum.errors import Conflict
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.models import Organisation
from forum.models import OrgStaff
from forum.models import Space

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62})[a-z0-9]$")


def _require_admin(actor: Account) -> None:
    if not actor.is_admin:
        raise Forbidden(_("Only the people who run this site can do that."))


def is_staff(actor: Account, org: Organisation) -> bool:
    return (
        db.session.scalar(
            sa.select(OrgStaff.account_id).where(
                OrgStaff.organisation_id == org.id, OrgStaff.account_id == actor.id
            )
        )
        is not None
    )


def access_org(actor: Account, slug: object) -> Organisation:
    """The organisation, for admins and its staff; 404 for everyone else.

    ``slug`` is its id (an ``int``: what every link the app makes carries, so history
    says nothing of what the organisation is) or its slug (text: old links, the CLI)."""
    if isinstance(slug, int) and not isinstance(slug, bool):
        org = db.session.get(Organisation, access.row_id(slug))
    elif isinstance(slug, str) and len(slug) <= 64:
        org = db.session.scalar(sa.select(Organisation).where(Organisation.slug == slug))
    else:
        raise NotFound()
    if org is None or not (actor.is_admin or is_staff(actor, org)):
        raise NotFound()
    return org


def list_orgs(actor: Account, page: int = 1) -> pagination.Page:
    """Admins: every organisation; staff: their own."""
    query = sa.select(Organisation).order_by(Organisation.name, Organisation.id)
    if not actor.is_admin:
        query = query.join(OrgStaff, OrgStaff.organisation_id == Organisation.id).where(
            OrgStaff.account_id == actor.id
        )
    return pagination.paginate(query, page)


def create_org(
    actor: Account, *, name: object, slug: object = None, description: object = ""
) -> Organisation:
    _require_admin(actor)
    name = text.clean(name, _("name"), 100)
    description = text.clean(description, _("description"), 2000, required=False, multiline=True)
    if slug is None or (isinstance(slug, str) and not slug.strip()):
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-")
    slug = text.clean(slug, _("web address"), 64).lower()
    if not _SLUG.match(slug) or "--" in slug:
        raise Invalid(_("The web address may use a-z, 0-9 and single dashes, 3 to 64 characters."))
    if db.session.scalar(sa.select(Organisation.id).where(Organisation.slug == slug)) is not None:
        raise Conflict(_("An organisation already uses that web address."))
    org = Organisation(slug=slug, name=name, description=description, created_at=clock.today())
    db.session.add(org)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(_("An organisation already uses that web address.")) from None
    return org


def add_staff(actor: Account, org_slug: object, alias: object) -> Organisation:
    """Make the account with ``alias`` staff of the organisation (returned)."""
    org = access_org(actor, org_slug)  # first: to anyone but its staff the org is not there
    _require_admin(actor)
    account = accounts.find_by_alias(alias)
    if account is None:
        raise Invalid(_("No account has that alias. Check the spelling."))
    if is_staff(account, org):
        raise Conflict(_("That alias is already staff here."))
    db.session.add(OrgStaff(organisation_id=org.id, account_id=account.id))
    db.session.commit()
    return org


def remove_staff(actor: Account, org_slug: object, account_id: object) -> Organisation:
    """Remove an account from the organisation's staff; the organisation, for the way back."""
    org = access_org(actor, org_slug)  # first: to anyone but its staff the org is not there
    _require_admin(actor)
    row = db.session.get(OrgStaff, (org.id, access.row_id(account_id)))
    if row is None:
        raise NotFound()
    db.session.delete(row)
    db.session.commit()
    return org


def list_staff(
    actor: Account, org_slug: object, page: int = 1
) -> tuple[Organisation, pagination.Page]:
    org = access_org(actor, org_slug)
    query = (
        sa.select(Account)
        .join(OrgStaff, OrgStaff.account_id == Account.id)
        .where(OrgStaff.organisation_id == org.id)
        .order_by(Account.alias, Account.id)
    )
    return org, pagination.paginate(query, page, 50)


def list_org_spaces(actor: Account, org_slug: object, page: int = 1) -> pagination.Page:
    """The organisation's spaces that ``actor`` may know exist: staff do not see the
    names of hidden spaces they are not in (the space itself would be a 404 to them)."""
    org = access_org(actor, org_slug)
    query = (
        sa.select(Space)
        .where(Space.organisation_id == org.id, Space.id.in_(access.known_spaces(actor)))
        .order_by(Space.name, Space.id)
    )
    return pagination.paginate(query, page)


def create_org_space(actor: Account, org_slug: object, **fields: object) -> Space:
    """Staff (and admins) create a closed or hidden space under the organisation and own it."""
    org = access_org(actor, org_slug)
    return spaces.create_space(actor, organisation=org, **fields)  # type: ignore[arg-type]
