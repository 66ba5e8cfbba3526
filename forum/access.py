"""Who may see and do what. Every service asks here, once.

``access_*`` returns the object or raises. ``NotFound`` when the actor may not see
the thing, exactly as if it did not exist (a closed or hidden space, its threads,
posts and rooms, to a non-member); ``Forbidden`` only when the actor may see it but
may not do this (post without joining an open space, act without the role).

Visibility rules:
- every space page needs a signed-in account (visitors are sent to log in);
- open spaces: any signed-in account may read; members may write;
- closed spaces: non-members see the name, description and join form only;
- hidden spaces: nothing at all for non-members;
- instance admins see every space, as moderators do.

The same rules for lists: :func:`readable_spaces` and :func:`known_spaces` are the
sets of spaces the single-object checks would let through, and :func:`visible` is
the one filter every list of threads, posts and chat messages applies (expired,
hidden and blocked content). The block rule itself belongs to moderation (which
keeps the blocks); ``moderation.init_app`` hands it here with :func:`use_block_rule`,
so the forum applies it without importing moderation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask_babel import gettext as _

from forum import clock
from forum import text
from forum.dbtypes import UTCDateTime
from forum.errors import Forbidden
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.models import AccountRow
from forum.models import Membership
from forum.models import MembershipRow
from forum.models import Post
from forum.models import Space
from forum.models import SpaceRow
from forum.models import Thread

# Kinds of space whose content every signed-in account may read, and kinds whose
# name and description every signed-in account may see (hidden: members only).
READ_BY_ALL = ("open",)
KNOWN_BY_ALL = ("open", "closed")


@dataclass
class SpaceAccess:
    """A space as one actor sees it: entities, or (a chat send) plain rows of them
    (``forum/models.py``: the rules read the same attributes of either)."""

    space: Space | SpaceRow
    account: Account | AccountRow
    membership: Membership | MembershipRow | None

    @property
    def is_member(self) -> bool:
        return self.membership is not None

    def has_role(self, role: str) -> bool:
        """Moderator/owner checks; instance admins count as owners everywhere."""
        if self.account.is_admin:
            return True
        return self.membership is not None and self.membership.has_role(role)

    @property
    def takes_part(self) -> bool:
        """Members (and instance admins): chat and the safety tools (bad-date reports,
        urgent alerts) are for them, open spaces included: reading an open space's threads
        does not make someone part of its live conversation or its warnings."""
        return self.is_member or self.account.is_admin

    @property
    def can_read(self) -> bool:
        return self.is_member or self.space.kind in READ_BY_ALL or self.account.is_admin

    def require_write(self) -> Membership:
        """The membership, if the actor may post here now; Forbidden otherwise."""
        if self.membership is None:
            raise Forbidden(_("Join this space to post in it."))
        muted = self.membership.muted_until
        if muted is not None and muted > clock.now():
            raise Forbidden(_("You are muted in this space for now."))
        return self.membership

    def require_role(self, role: str) -> None:
        if not self.has_role(role):
            raise Forbidden(_("Only the space's moderators can do that."))


# The largest id an INTEGER column holds (PostgreSQL's is 4 bytes). Every id from a
# client (URL, form or socket payload) passes through ``row_id``: past this it is
# "not found", as a missing object is, instead of an overflow in the database driver.
MAX_ID = 2**31 - 1


def row_id(value: object) -> int:
    """An id from a client, or NotFound exactly as for a missing object."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise NotFound()
    return value


def cursor_id(value: object) -> int:
    """A "rows after this one" cursor from a client: 0 (from the start) or a ``row_id``."""
    return 0 if type(value) is int and value == 0 else row_id(value)


@functools.cache
def _membership_statement() -> sa.Select:
    """Built once: every page and event in a space asks it (``:space_id``, ``:account_id``)."""
    return sa.select(Membership).where(
        Membership.space_id == sa.bindparam("space_id"),
        Membership.account_id == sa.bindparam("account_id"),
    )


def membership_of(account: Account, space_id: int) -> Membership | None:
    params = {"space_id": space_id, "account_id": account.id}
    return db.session.scalar(_membership_statement(), params)


_UNREAD = object()  # the membership is not loaded yet: _visible_shell reads it


def _visible_shell(
    space: Space | None, account: Account | None, membership: Any = _UNREAD
) -> SpaceAccess:
    """The space if the actor may know it exists (read access is checked separately)."""
    if space is None or account is None:
        raise NotFound()
    if membership is _UNREAD:
        membership = membership_of(account, space.id)
    if space.kind not in KNOWN_BY_ALL and membership is None and not account.is_admin:
        raise NotFound()
    return SpaceAccess(space, account, membership)


def access_space_shell(account: Account | None, slug: object) -> SpaceAccess:
    """For the "about / join" page: open and closed spaces exist to everyone signed in.

    ``slug`` names the space: its id (an ``int``, what every link the app makes carries,
    from ``<space:slug>`` in a URL) or its slug (text: old links, forms, the CLI).
    """
    if isinstance(slug, int) and not isinstance(slug, bool):
        return _visible_shell(db.session.get(Space, row_id(slug)), account)
    if not isinstance(slug, str) or len(slug) > 64 or text.hidden_characters(slug):
        raise NotFound()  # a slug from a form, too: NUL would reach PostgreSQL as a DataError
    return _visible_shell(db.session.scalar(sa.select(Space).where(Space.slug == slug)), account)


def access_space(account: Account | None, slug: object) -> SpaceAccess:
    """The space's content: members (and everyone signed in, for open spaces)."""
    access = access_space_shell(account, slug)
    if not access.can_read:
        raise NotFound()
    return access


def access_space_by_id(account: Account | None, space_id: object) -> SpaceAccess:
    return access_space_loaded(account, db.session.get(Space, row_id(space_id)))


def access_space_loaded(
    account: Account | None, space: Space | None, membership: Any = _UNREAD
) -> SpaceAccess:
    """The space's content for a caller that loaded the space, and maybe the actor's
    membership of it (None: not a member) in one query with what it reads anyway (a
    chat message's room: ``realtime/chat.py``); unread, it is read here. The one rule
    behind :func:`access_space_by_id`."""
    access = _visible_shell(space, account, membership)
    if not access.can_read:
        raise NotFound()
    return access


def live(column: sa.ColumnElement, now: Any = None) -> sa.ColumnElement[bool]:
    """``expires_at`` filter for every read path: no expiry, or expiry still ahead.

    ``now``: the clock's time by default; a bound parameter (``sa.bindparam``) in a
    statement built once and run many times."""
    return sa.or_(column.is_(None), column > (clock.now() if now is None else now))


def access_thread(account: Account | None, thread_id: object) -> tuple[Thread, SpaceAccess]:
    """A live thread the actor may read. Hidden threads are seen by moderators only."""
    params = thread_params(account, thread_id)
    return thread_loaded(account, db.session.execute(thread_statement(), params).one_or_none())


@functools.cache
def thread_statement() -> sa.Select:
    """Built once: everything :func:`access_thread` decides on, in one statement (the
    thread, its space and the reader's membership were three, and :func:`shows` a fourth).

    The thread, its space, the reader's membership of it (None: not a member), and
    :func:`visible`'s answer (blocks aside) for a reader who is not a moderator there
    (``shows``) and for one who is (``shows_to_moderators``): the role is known only
    once the membership is read. Parameters from :func:`thread_params`. A page may add
    columns and joins (the thread page adds the reader's follow and block) and hand the
    row to :func:`thread_loaded`."""
    reader, now = sa.bindparam("account_id"), sa.bindparam("now", type_=UTCDateTime())
    return (
        sa.select(
            Thread,
            Space,
            Membership,
            visible(reader, Thread, blocks=False, now=now).label("shows"),
            visible(reader, Thread, moderator=True, blocks=False, now=now).label(
                "shows_to_moderators"
            ),
        )
        .join(Space, Space.id == Thread.space_id)
        .outerjoin(
            Membership,
            sa.and_(Membership.space_id == Thread.space_id, Membership.account_id == reader),
        )
        .where(Thread.id == sa.bindparam("thread_id"))
    )


def thread_params(account: Account | None, thread_id: object) -> dict[str, Any]:
    """:func:`thread_statement`'s parameters (NotFound for an id no thread can have, and
    for nobody signed in: no thread shows to them)."""
    thread_id = row_id(thread_id)
    if account is None:
        raise NotFound()
    return {"thread_id": thread_id, "account_id": account.id, "now": clock.now()}


def thread_loaded(account: Account | None, row: Any) -> tuple[Thread, SpaceAccess]:
    """:func:`access_thread`'s rule, for a row of :func:`thread_statement` (None: no such
    thread): the space as :func:`access_space_loaded` lets it through, then the thread if
    it shows to this reader (moderators also see hidden threads)."""
    if row is None:
        raise NotFound()
    access = access_space_loaded(account, row.Space, row.Membership)
    if not (row.shows_to_moderators if access.has_role("moderator") else row.shows):
        raise NotFound()
    return row.Thread, access


def access_post(account: Account | None, post_id: object) -> tuple[Post, SpaceAccess]:
    """A live post the actor may read (hidden ones: its author and moderators)."""
    post = db.session.get(Post, row_id(post_id))
    if post is None:
        raise NotFound()
    _thread, access = access_thread(account, post.thread_id)
    if not shows(account, post, moderator=access.has_role("moderator"), own_hidden=True):
        raise NotFound()
    return post, access


# --- sets: what a list may show ------------------------------------------------------
#
# The single-object checks above, as SQL for lists. Each takes the reader as an
# ``Account``, or as a column of account ids when one query asks for many readers at
# once (who should hear of a new reply). ``tests/test_list_visibility.py`` holds every
# list to the answer of the single-object checks, role by role and kind by kind.

Reader = Account | AccountRow | int | sa.ColumnElement[int]
# One account at hand: the entity (pages) or its plain row (socket events, forum/models.py).
_ONE_ACCOUNT = (Account, AccountRow)
# ``rule(reader_id, content) -> SQL truth``: the reader has blocked whoever wrote the
# content. ``reader_id`` is an account id or a column of them; ``content`` is anything
# with the content columns (``author_id``, ``author_name``, ``space_id``): a model, an
# alias, a row, or a ``Written``.
BlockRule = Callable[[Any, Any], sa.ColumnElement[bool]]
_BLOCK_RULE = "rb.block_rule"


@dataclass(frozen=True)
class Written:
    """Content known only by who wrote it, under which name, and where (a person typing)."""

    author_id: int | None
    author_name: str | None = None
    space_id: int | None = None


def _reader_id(reader: Reader) -> Any:
    return reader.id if isinstance(reader, _ONE_ACCOUNT) else reader


def _is_admin(reader: Reader) -> sa.ColumnElement[bool]:
    if isinstance(reader, _ONE_ACCOUNT):
        return sa.true() if reader.is_admin else sa.false()
    return sa.exists().where(Account.id == reader, Account.is_admin.is_(True))


def _is_member(reader: Reader, space_id: Any) -> sa.ColumnElement[bool]:
    return sa.exists().where(
        Membership.space_id == space_id, Membership.account_id == _reader_id(reader)
    )


def may_read(reader: Reader, space: Any = Space) -> sa.ColumnElement[bool]:
    """SQL for :attr:`SpaceAccess.can_read`: ``reader`` may read ``space``'s content.

    ``space`` is the ``Space`` model (or an alias) in the query, or one ``Space`` (entity
    or plain row).
    """
    if isinstance(space, (Space, SpaceRow)):
        for_all = sa.true() if space.kind in READ_BY_ALL else sa.false()
    else:
        for_all = space.kind.in_(READ_BY_ALL)
    return sa.or_(for_all, _is_admin(reader), _is_member(reader, space.id))


def readable_spaces(account: Account | None) -> sa.Select:
    """The ids of the spaces whose content ``account`` may read (signed out: none)."""
    if account is None:
        return sa.select(Space.id).where(sa.false())
    return sa.select(Space.id).where(may_read(account))


def known_spaces(account: Account | None) -> sa.Select:
    """The ids of the spaces ``account`` may know exist: the space list (signed out: none)."""
    if account is None:
        return sa.select(Space.id).where(sa.false())
    return sa.select(Space.id).where(
        sa.or_(Space.kind.in_(KNOWN_BY_ALL), _is_admin(account), _is_member(account, Space.id))
    )


def searched_spaces(account: Account | None) -> sa.Select:
    """The spaces search looks in: those ``account`` is a member of (a member chose them;
    search is where a stranger's words would otherwise turn up). Members always read."""
    if account is None:
        return sa.select(Membership.space_id).where(sa.false())
    return sa.select(Membership.space_id).where(Membership.account_id == account.id)


def use_block_rule(app: Flask, rule: BlockRule) -> None:
    """Moderation hands over its block rule (``moderation.blocks.blocked``) at start-up."""
    app.extensions[_BLOCK_RULE] = rule
    app.extensions[_PREBUILT] = {}  # statements built with an earlier rule go with it


_PREBUILT = "rb.prebuilt"


def prebuilt(name: str, build: Callable[[], sa.Select]) -> sa.Select:
    """A statement built once per app: one that applies the block rule (which the app is
    handed at start-up, so no module can build it at import). ``name`` says which; the
    statement takes its values as bound parameters. SQLAlchemy keeps a built statement's
    cache key, so each run skips building the statement and walking it for its key."""
    built = current_app.extensions.setdefault(_PREBUILT, {})
    found = built.get(name)
    if found is None:
        found = built[name] = build()
    return found


def blocked(reader: Reader | None, content: Any) -> sa.ColumnElement[bool]:
    """SQL truth: ``reader`` has blocked the author of ``content`` (no rule, no reader: false)."""
    rule = current_app.extensions.get(_BLOCK_RULE)
    if rule is None or reader is None:
        return sa.false()
    return rule(_reader_id(reader), content)


def is_blocked(reader: Account | int | None, content: Any) -> bool:
    """The same, for one item at hand (a ``Thread``, ``Post``, ``ChatMessage`` row)."""
    if reader is None or content is None or content.author_id is None:
        return False
    return bool(db.session.scalar(sa.select(blocked(reader, content))))


def visible(
    reader: Reader | None,
    content: Any,
    *,
    moderator: bool = False,
    own_hidden: bool = False,
    blocks: bool = True,
    now: Any = None,
) -> sa.ColumnElement[bool]:
    """The one filter for lists of content (``Thread``, ``Post``, ``ChatMessage`` or an alias).

    - expired: never (``live``);
    - hidden by moderation: only to the space's moderators (``moderator``), and with
      ``own_hidden`` to its author, as on the thread page;
    - written by someone the reader blocked: never (``blocks=False`` leaves that to the
      caller, for the thread page's "posts from someone you blocked" line);
    - ``now``: as for :func:`live`.

    It does not choose the spaces: combine it with :func:`readable_spaces` (or an
    ``access_*`` check for the one space or thread a page is about).
    """
    clauses = [live(content.expires_at, now)]
    if not moderator:
        shown = content.hidden_at.is_(None)
        if own_hidden and reader is not None:
            shown = sa.or_(shown, content.author_id == _reader_id(reader))
        clauses.append(shown)
    if blocks:
        clauses.append(sa.not_(blocked(reader, content)))
    return sa.and_(*clauses)


def shows(
    reader: Account | None, row: Any, *, moderator: bool = False, own_hidden: bool = False
) -> bool:
    """:func:`visible` (blocks aside) for one row at hand: the single-object checks ask the
    same rule as the lists, so a thread page and its thread list can never disagree."""
    model = type(row)
    query = sa.select(model.id).where(
        model.id == row.id,
        visible(reader, model, moderator=moderator, own_hidden=own_hidden, blocks=False),
    )
    return db.session.scalar(query) is not None
