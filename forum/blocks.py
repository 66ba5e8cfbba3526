"""Personal blocks as a reading rule: what someone who blocked an author no longer sees.

Read paths filter with ``exclude_blocked(viewer, Model.author_id)``; live delivery
asks ``is_blocked(viewer_id, author_id)``. Creating and undoing a block is a
moderation service (``moderation/blocks.py``); the rule lives here so every list in
``forum`` applies it without importing moderation.
"""

from __future__ import annotations

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Account
from forum.models import Block

MAX_BLOCKS = 2000  # per blocker: bounds every query below


def account_id(account: Account | int) -> int:
    return account if isinstance(account, int) else account.id


def blocked_ids(account: Account | int | None) -> set[int]:
    """Everyone this account has blocked (bounded by MAX_BLOCKS)."""
    if account is None:
        return set()
    query = sa.select(Block.blocked_id).where(Block.blocker_id == account_id(account))
    return set(db.session.scalars(query.limit(MAX_BLOCKS)))


def exclude_blocked(
    account: Account | int | None, author_column: sa.ColumnElement
) -> sa.ColumnElement[bool]:
    """A WHERE clause for read paths: rows not written by someone the viewer blocked."""
    if account is None:
        return sa.true()
    blocked = sa.select(Block.blocked_id).where(Block.blocker_id == account_id(account))
    return sa.or_(author_column.is_(None), author_column.not_in(blocked))


def is_blocked(blocker_id: int | None, blocked_id: int | None) -> bool:
    """Has ``blocker_id`` blocked ``blocked_id``? (live delivery filters)"""
    if blocker_id is None or blocked_id is None:
        return False
    query = sa.select(Block.id).where(
        Block.blocker_id == blocker_id, Block.blocked_id == blocked_id
    )
    return db.session.scalar(query) is not None
