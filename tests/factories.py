"""Small factories for spaces, memberships and chat rooms (straight to the models)."""

from __future__ import annotations

from itertools import count

from forum import aliases
from forum import clock
from forum.extensions import db
from forum.models import Account
from forum.models import Membership
from forum.models import Space
from realtime.models import ChatRoom

_n = count(1)


def make_space(slug: str | None = None, kind: str = "open", **fields: object) -> Space:
    slug = slug or f"space-{next(_n)}"
    space = Space(slug=slug, name=fields.pop("name", slug.title()), kind=kind, created_at=clock.now(), **fields)
    db.session.add(space)
    db.session.commit()
    return space


def add_member(space: Space, account: Account, role: str = "member", space_alias: str | None = None) -> Membership:
    membership = Membership(
        space_id=space.id, account_id=account.id, role=role, space_alias=space_alias,
        name_key=aliases.alias_skeleton(space_alias or account.alias), joined_at=clock.now(),
    )
    db.session.add(membership)
    db.session.commit()
    return membership


def make_room(space: Space, name: str = "General") -> ChatRoom:
    room = ChatRoom(space_id=space.id, name=name, created_at=clock.now(), last_seq=0)
    db.session.add(room)
    db.session.commit()
    return room
