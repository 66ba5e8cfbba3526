"""Helpers for the spaces/threads/search tests: build spaces and content directly."""

from __future__ import annotations

import re

from forum import invites
from forum import orgs
from forum import spaces
from forum import threads
from forum.extensions import db
from forum.models import Account
from forum.models import Space

CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]*"')


def make_space(owner: Account, kind: str = "open", name: str | None = None, **extra) -> Space:  # noqa: ANN003
    """A space of ``kind`` owned by ``owner`` (an admin for open ones, org staff otherwise)."""
    name = name or f"{kind.title()} room"
    if kind == "open":
        was_admin = owner.is_admin
        owner.is_admin = True
        try:
            return spaces.create_space(owner, name=name, kind="open", **extra)
        finally:
            owner.is_admin = was_admin
            db.session.commit()
    admin_flag = owner.is_admin
    owner.is_admin = True
    org = orgs.create_org(owner, name=f"Org for {name}")
    owner.is_admin = admin_flag
    db.session.commit()
    db.session.add(orgs.OrgStaff(organisation_id=org.id, account_id=owner.id))
    db.session.commit()
    return orgs.create_org_space(owner, org.slug, name=name, kind=kind, **extra)


def add(space: Space, account: Account, role: str = "member", space_alias: str | None = None):  # noqa: ANN201
    membership = spaces.add_member(space, account, spaces.choose_name(space, account, space_alias), role=role)
    db.session.commit()
    return membership


def thread(author: Account, space: Space, title: str = "A thread", body: str = "First post body"):  # noqa: ANN201
    return threads.create_thread(author, space.slug, title=title, body=body)


def invite_code(owner: Account, space: Space, **kw) -> str:  # noqa: ANN003
    return invites.create_invite(owner, space.slug, **kw).code


def scrub(html: str) -> str:
    """A page without its per-request CSRF token, for byte-for-byte comparisons."""
    return CSRF_VALUE.sub('name="csrf_token" value=""', html)
