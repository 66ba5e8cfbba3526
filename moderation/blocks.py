"""Personal blocks: hide a *name* from yourself. They are not told.

A block attaches to the name the blocker saw, not to the account behind it: the
everyday alias everywhere it is used, or a space name in its space only
(``moderation/models.Block``). Were it the account, blocking "Rosa" in a closed
space would also hide the same person's open-space posts under their everyday
alias, and any member of both spaces could link the two names by blocking one
(docs/PRIVACY.md says what the blocker gives up for that).

:func:`blocked` is the block rule, the only one: every list (through
``forum.access.visible``, which ``moderation.init_app`` hands this rule to), live
delivery and the checks below ask it. Mentions, buddy requests and messages call
``assert_may_contact(sender, recipient, space_id)`` (NotFound, as if the recipient
did not exist).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from forum import access
from forum import clock
from forum import signals
from forum.errors import Conflict
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.models import Membership
from forum.pagination import paginate
from moderation import targets
from moderation.models import Block

MAX_BLOCKS = 2000
PER_PAGE = 30


def _id(account: Account | int) -> int:
    return account if isinstance(account, int) else account.id


def block(actor: Account, kind: object, target_id: object) -> Block:
    """Block the name an item the actor can see was written under (the UI sends the item)."""
    target, _space_access = targets.load(actor, kind, target_id)
    if target.kind == "report":
        raise NotFound()  # reporters stay unknown: a block would tell whose posts vanish
    if target.author_id is None:
        raise Invalid(_("That author's account no longer exists."))
    if target.author_id == actor.id:
        raise Invalid(_("You can't block yourself."))
    if access.is_blocked(actor, target):
        raise Conflict(_("You have already blocked them."))
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(Block).where(Block.blocker_id == actor.id)
    )
    if count >= MAX_BLOCKS:
        raise Invalid(
            _(
                "You can block at most %(max_blocks)s people. Undo an old block first.",
                max_blocks=MAX_BLOCKS,
            )
        )
    row = Block(
        blocker_id=actor.id,
        blocked_id=target.author_id,
        space_id=scope_of(target.author_id, target.author_name, target.space_id),
        blocked_name=target.author_name[:64],
        created_at=clock.today(),
    )
    db.session.add(row)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(_("You have already blocked them.")) from None
    signals.member_blocked.send(
        actor.id, blocked_id=row.blocked_id, name=row.blocked_name, space_id=row.space_id
    )
    return row


def scope_of(author_id: int, author_name: str, space_id: int) -> int | None:
    """Where a name holds: None for the author's everyday alias (every space), else its space."""
    alias = db.session.scalar(sa.select(Account.alias).where(Account.id == author_id))
    return None if alias == author_name else space_id


def unblock(actor: Account, block_id: object) -> None:
    """Undo one of the actor's own blocks (another's block is "not found")."""
    row = db.session.get(Block, access.row_id(block_id))
    if row is None or row.blocker_id != actor.id:
        raise NotFound()
    # The same name blocked twice in a race (NULL scopes are not unique to the database).
    db.session.execute(
        sa.delete(Block).where(
            Block.blocker_id == actor.id,
            Block.blocked_id == row.blocked_id,
            Block.blocked_name == row.blocked_name,
            Block.space_id.is_(None) if row.space_id is None else Block.space_id == row.space_id,
        )
    )
    db.session.commit()


def list_blocks(actor: Account, page: int = 1) -> tuple[list[Block], bool]:
    query = sa.select(Block).where(Block.blocker_id == actor.id).order_by(Block.id.desc())
    found = paginate(query, page, PER_PAGE)
    return found.items, found.has_next


def blocked_ids(account: Account | int | None) -> set[int]:
    """The accounts behind the names this account blocked (tests and sweeps; never shown)."""
    if account is None:
        return set()
    return set(
        db.session.scalars(
            sa.select(Block.blocked_id).where(Block.blocker_id == _id(account)).limit(MAX_BLOCKS)
        )
    )


def blocked(reader_id: Any, content: Any) -> sa.ColumnElement[bool]:
    """The block rule: ``reader_id`` has blocked the name ``content`` was written under.

    Same account, same name, and the name's scope: everywhere for an everyday alias
    (``Block.space_id`` None), its own space for a space name. ``reader_id`` is an
    account id, or a column of them (one query for many readers); ``content`` has the
    content columns (``author_id``, ``author_name``, ``space_id``): a model such as
    ``Post`` or an alias of one, one row, or an ``access.Written``. SQL either way, so
    lists, counts and live audiences all apply the same rule.
    """
    return sa.exists().where(Block.blocker_id == reader_id, _blocks_of(content))


def blockers(content: Any) -> sa.Select:
    """The accounts that blocked the name ``content`` was written under: :func:`blocked`'s
    rule from the other side, for live delivery (``realtime/sockets.sids_blocking``). Driven
    from the blocked name's index, so its cost does not grow with the readers asked about
    (a room of 1,000 sockets probed one EXISTS per socket: ~1 ms a message)."""
    return sa.select(Block.blocker_id).where(_blocks_of(content))


def _blocks_of(content: Any) -> sa.ColumnElement[bool]:
    """The rule, apart from who blocks: same account, same name, and the name's scope
    (everywhere for an everyday alias, its own space for a space name)."""
    return sa.and_(
        Block.blocked_id == content.author_id,
        Block.blocked_name == content.author_name,
        sa.or_(Block.space_id.is_(None), Block.space_id == content.space_id),
    )


def exclude_blocked(account: Account | int | None, content: Any) -> sa.ColumnElement[bool]:
    """A WHERE clause: ``content`` rows not written under a name the viewer blocked."""
    if account is None:
        return sa.true()
    return sa.not_(blocked(_id(account), content))


def hides(
    viewer: Account | int | None, author_id: int | None, author_name: str, space_id: int
) -> bool:
    """Does ``viewer`` block the name ``author_id`` writes under (``author_name``, ``space_id``)?"""
    if viewer is None or author_id is None:
        return False
    return access.is_blocked(_id(viewer), access.Written(author_id, author_name, space_id))


def name_in(account_id: int, space_id: int) -> str | None:
    """The name ``account_id`` shows in a space now (None: not a member)."""
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.account_id == account_id, Membership.space_id == space_id
        )
    )
    return membership.display_name if membership is not None else None


def assert_may_contact(sender: Account | int, recipient: Account | int, space_id: int) -> None:
    """Mentions, buddy requests, messages sent from a space: NotFound if the recipient
    blocked the name the sender uses there."""
    name = name_in(_id(sender), space_id)
    if name is not None and hides(recipient, _id(sender), name, space_id):
        raise NotFound()
