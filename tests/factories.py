"""Objects for tests, built through the services (so they obey the rules the product
does): accounts, spaces with their memberships, threads, posts, chat rooms and messages.

Plain functions: call them inside the ``app`` fixture's context. Each commits. What a
factory sets up is not what a test is testing, so factories

- confirm the privacy guard (random markers can look like phone numbers),
- do not spend the author's chat rate limit (a test of the limit counts its own sends),
- and take ``when=`` to write as of another time (the injectable clock, moved and put back).

A rule a factory cannot pass through the service (a link from a new account, a word
the space blocks) is a sign the test should set that up itself, on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from datetime import timedelta
from itertools import count
from typing import TypeVar

import sqlalchemy as sa
from flask import current_app

from forum import accounts
from forum import clock
from forum import orgs
from forum import spaces
from forum import threads
from forum.extensions import db
from forum.models import Account
from forum.models import Membership
from forum.models import Post
from forum.models import Space
from forum.models import Thread
from realtime import chat
from realtime.models import ChatMessage
from realtime.models import ChatRoom
from tests.support import PASSPHRASE

_n = count(1)
T = TypeVar("T")


@contextmanager
def at(when: datetime | None) -> Iterator[None]:
    """Run the body with ``clock.now()`` answering ``when`` (no change when None)."""
    if when is None:
        yield
        return
    saved = clock.now
    clock.now = lambda: when
    try:
        yield
    finally:
        clock.now = saved


@contextmanager
def _unmetered() -> Iterator[None]:
    config = current_app.config
    saved = config.get("RB_LIMITS_ENABLED", True)
    config["RB_LIMITS_ENABLED"] = False
    try:
        yield
    finally:
        config["RB_LIMITS_ENABLED"] = saved


def _settled(row: T) -> T:
    """``row`` as a test finds it after any commit: expired, so its next read is fresh
    (the signal receivers that ran after the service's commit loaded it)."""
    db.session.commit()
    return row


# --- people ---------------------------------------------------------------------------


def make_account(
    alias: str | None = None,
    *,
    admin: bool = False,
    passphrase: str = PASSPHRASE,
    age: timedelta | None = None,
) -> Account:
    """Sign up ``alias`` (a fresh one if None); ``age`` back-dates the account."""
    alias = alias or f"peer{next(_n)}"
    account = accounts.sign_up(alias, passphrase, passphrase).account
    account.codes_confirmed = True  # an established account: past the codes step
    account.is_admin = admin
    if age is not None:
        account.created_at = clock.now() - age
    db.session.commit()
    return account


def season(account: Account, where: Thread | ChatRoom, posts: int = 5, days: int = 10) -> Account:
    """Trust level 1 ("member") for the name ``account`` shows where ``where`` is:
    ``days`` old (the account, and its membership there when it shows a space name),
    with ``posts`` replies in a thread or messages in a chat room (both count)."""
    account.created_at = clock.now() - timedelta(days=days)
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.account_id == account.id, Membership.space_id == where.space_id
        )
    )
    if membership is not None and membership.space_alias is not None:
        membership.joined_at = clock.to_day(clock.now() - timedelta(days=days))
    db.session.commit()
    for i in range(posts):
        if isinstance(where, ChatRoom):
            make_message(where, account, f"warm-up {i}")
        else:
            make_post(where, account, f"post {i}")
    return account


# --- spaces ---------------------------------------------------------------------------


def make_space(
    kind: str = "open",
    *,
    owner: Account | None = None,
    name: str | None = None,
    slug: str | None = None,
    **settings: object,
) -> Space:
    """A space of ``kind`` (open, closed, hidden), created by ``owner`` the way the site
    does: open spaces by an admin, closed and hidden ones by an organisation's staff.

    ``owner`` (a new account when None) owns it and the space has its "General" room.
    ``settings`` are Space columns the owner would set later (``chat_retention_hours``,
    ``post_retention_days``, ``flag_threshold``, ...), written after creation.
    """
    owner = owner or make_account()
    n = next(_n)
    name = name or f"{kind.title()} space {n}"
    was_admin = owner.is_admin
    owner.is_admin = True  # for this creation only: who may create is tested elsewhere
    try:
        if kind == "open":
            space = spaces.create_space(owner, name=name, kind=kind, slug=slug)
        else:
            org = orgs.create_org(owner, name=f"Org {n} for {name}")
            db.session.add(orgs.OrgStaff(organisation_id=org.id, account_id=owner.id))
            db.session.commit()
            space = orgs.create_org_space(owner, org.slug, name=name, kind=kind, slug=slug)
    finally:
        owner.is_admin = was_admin
        db.session.commit()
    for column, value in settings.items():
        if not hasattr(Space, column):
            raise TypeError(f"Space has no column {column!r}")
        setattr(space, column, value)
    db.session.commit()
    return space


def add_member(
    space: Space, account: Account, role: str = "member", space_alias: str | None = None
) -> Membership:
    """``account`` joins ``space`` as ``role``, showing ``space_alias`` (their alias if None)."""
    membership = spaces.add_member(
        space, account, spaces.choose_name(space, account, space_alias), role=role
    )
    db.session.commit()
    return membership


def owner_of(space: Space) -> Account:
    """The space's first owner."""
    return db.session.scalar(
        sa.select(Account)
        .join(Membership, Membership.account_id == Account.id)
        .where(Membership.space_id == space.id, Membership.role == "owner")
        .order_by(Membership.id)
    )


# --- forum ----------------------------------------------------------------------------


def make_thread(
    space: Space,
    author: Account | None = None,
    title: str = "A thread",
    body: str = "First post",
    *,
    when: datetime | None = None,
    **fields: object,
) -> Thread:
    """A thread by ``author`` (the space's owner when None), a member who may write."""
    author = author or owner_of(space)
    with at(when), _unmetered():
        thread = threads.create_thread(
            author, space.slug, title=title, body=body, confirm_identifiers=True, **fields
        )
    return _settled(thread)


def make_post(
    thread: Thread,
    author: Account | None = None,
    body: str = "A reply",
    *,
    when: datetime | None = None,
    **fields: object,
) -> Post:
    """A reply by ``author`` (the space's owner when None)."""
    author = author or owner_of(db.session.get(Space, thread.space_id))
    with at(when), _unmetered():
        post = threads.reply(author, thread.id, body=body, confirm_identifiers=True, **fields)
    return _settled(post)


# --- chat -----------------------------------------------------------------------------


def make_room(space: Space, name: str | None = None) -> ChatRoom:
    """The space's first room when ``name`` is None, else a new room its owner adds."""
    if name is None:
        return chat.ensure_default_room(space.id)
    return chat.create_room(owner_of(space), space.slug, name)


def make_message(
    room: ChatRoom,
    author: Account | None = None,
    body: str = "hello",
    *,
    when: datetime | None = None,
) -> ChatMessage:
    """A chat message by ``author`` (the space's owner when None), stored and announced."""
    author = author or owner_of(db.session.get(Space, room.space_id))
    with at(when), _unmetered():
        message, _new = chat.post_message(
            author, room.id, f"factory-{next(_n)}", body, confirmed=True
        )
    return _settled(message)
