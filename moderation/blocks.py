"""Personal blocks: hide someone's content from yourself, everywhere. They are not told.

:func:`blocked` is the block rule, the only one: every list (through
``forum.access.visible``, which ``moderation.init_app`` hands this rule to), live
delivery and the checks below ask it. Mentions, buddy requests and messages call
``assert_may_contact(sender, recipient)`` (NotFound, as if the recipient did not exist).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from forum import access
from forum import clock
from forum import signals
from forum.errors import Conflict
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.pagination import paginate
from moderation import targets
from moderation.models import Block

MAX_BLOCKS = 2000
PER_PAGE = 30


def _id(account: Account | int) -> int:
    return account if isinstance(account, int) else account.id


def block(actor: Account, kind: object, target_id: object) -> Block:
    """Block the author of an item the actor can see (the UI sends the item, not the account)."""
    target, _space_access = targets.load(actor, kind, target_id)
    if target.author_id is None:
        raise Invalid("That author's account no longer exists.")
    if target.author_id == actor.id:
        raise Invalid("You can't block yourself.")
    if access.is_blocked(actor, target):
        raise Conflict("You have already blocked them.")
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Block).where(Block.blocker_id == actor.id))
    if count >= MAX_BLOCKS:
        raise Invalid(f"You can block at most {MAX_BLOCKS} people. Undo an old block first.")
    row = Block(blocker_id=actor.id, blocked_id=target.author_id, blocked_name=target.author_name[:64],
                created_at=clock.now())
    db.session.add(row)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict("You have already blocked them.") from None
    signals.member_blocked.send(actor.id, blocked_id=row.blocked_id)
    return row


def unblock(actor: Account, block_id: object) -> None:
    """Undo one of the actor's own blocks (another's block is "not found")."""
    row = db.session.get(Block, access.row_id(block_id))
    if row is None or row.blocker_id != actor.id:
        raise NotFound()
    db.session.delete(row)
    db.session.commit()


def list_blocks(actor: Account, page: int = 1) -> tuple[list[Block], bool]:
    found = paginate(sa.select(Block).where(Block.blocker_id == actor.id).order_by(Block.id.desc()), page, PER_PAGE)
    return found.items, found.has_next


def blocked_ids(account: Account | int | None) -> set[int]:
    """Everyone this account has blocked (bounded by MAX_BLOCKS)."""
    if account is None:
        return set()
    return set(db.session.scalars(
        sa.select(Block.blocked_id).where(Block.blocker_id == _id(account)).limit(MAX_BLOCKS)
    ))


def blocked(reader_id: Any, content: Any) -> sa.ColumnElement[bool]:
    """The block rule: ``reader_id`` has blocked whoever wrote ``content``.

    ``reader_id`` is an account id, or a column of them (one query for many readers);
    ``content`` has the content columns (``author_id``, ``author_name``, ``space_id``): a model such as
    ``Post`` or an alias of one, or one row. SQL either way, so lists, counts and live
    audiences all apply the same rule.
    """
    return sa.exists().where(Block.blocker_id == reader_id, Block.blocked_id == content.author_id)


def exclude_blocked(account: Account | int | None, author_column: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """A WHERE clause: rows whose ``author_column`` is not someone the viewer blocked."""
    if account is None:
        return sa.true()
    return sa.not_(blocked(_id(account), access.Written(author_column)))


def is_blocked(blocker_id: int | None, blocked_id: int | None) -> bool:
    """Has ``blocker_id`` blocked ``blocked_id``?"""
    if blocker_id is None or blocked_id is None:
        return False
    return access.is_blocked(blocker_id, access.Written(blocked_id))


def assert_may_contact(sender: Account | int, recipient: Account | int) -> None:
    """Mentions, buddy requests, messages: NotFound if the recipient blocked the sender."""
    if is_blocked(_id(recipient), _id(sender)):
        raise NotFound()
