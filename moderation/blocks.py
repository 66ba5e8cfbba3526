"""Personal blocks: hide someone's content from yourself, everywhere. They are not told.

Read paths filter with ``exclude_blocked(viewer, Model.author_id)``; realtime
delivery asks ``is_blocked(viewer_id, author_id)``; mentions, buddy requests and
messages call ``assert_may_contact(sender, recipient)`` (NotFound, as if the
recipient did not exist).
"""

from __future__ import annotations

import sqlalchemy as sa

from forum import access
from forum import clock
from forum import signals
from forum.errors import Conflict
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
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
    if is_blocked(actor.id, target.author_id):
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
    page = max(1, page)
    rows = list(
        db.session.scalars(
            sa.select(Block).where(Block.blocker_id == actor.id).order_by(Block.id.desc())
            .limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)
        )
    )
    return rows[:PER_PAGE], len(rows) > PER_PAGE


def blocked_ids(account: Account | int | None) -> set[int]:
    """Everyone this account has blocked (bounded by MAX_BLOCKS)."""
    if account is None:
        return set()
    return set(db.session.scalars(
        sa.select(Block.blocked_id).where(Block.blocker_id == _id(account)).limit(MAX_BLOCKS)
    ))


def exclude_blocked(account: Account | int | None, author_column: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """A WHERE clause for read paths: rows not written by someone the viewer blocked."""
    if account is None:
        return sa.true()
    blocked = sa.select(Block.blocked_id).where(Block.blocker_id == _id(account))
    return sa.or_(author_column.is_(None), author_column.not_in(blocked))


def is_blocked(blocker_id: int | None, blocked_id: int | None) -> bool:
    """Has ``blocker_id`` blocked ``blocked_id``? (realtime delivery filters)"""
    if blocker_id is None or blocked_id is None:
        return False
    return db.session.scalar(
        sa.select(Block.id).where(Block.blocker_id == blocker_id, Block.blocked_id == blocked_id)
    ) is not None


def assert_may_contact(sender: Account | int, recipient: Account | int) -> None:
    """Mentions, buddy requests, messages: NotFound if the recipient blocked the sender."""
    if is_blocked(_id(recipient), _id(sender)):
        raise NotFound()
