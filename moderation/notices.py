"""Private notices to one account (your post was hidden, your appeal was decided).

``notify`` adds a row to the caller's transaction (no commit): the notice is
written with the action it reports, or not at all.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa

from forum import access
from forum import clock
from forum.extensions import db
from forum.models import Account
from forum.pagination import paginate
from moderation.models import ModAction
from moderation.models import Notice
from moderation.targets import Target

NOTICE_LIFETIME = timedelta(days=30)
PER_PAGE = 20


def notify(
    account_id: int | None,
    text: str,
    link: str | None = None,
    until: datetime | None = None,
    *,
    action: ModAction | None = None,
    target: Target | None = None,
) -> None:
    """Tell one account. The notice goes after NOTICE_LIFETIME, or earlier with what it
    is about: ``until``; the log line ``action`` reports (its ``excerpt_expires_at``);
    the content ``target``. Both are remembered, so when their lives are shortened
    later the notice's is too (``moderation/expiry.py`` ``cap_copies``)."""
    if account_id is None:
        return
    now = clock.now()
    ends = [now + NOTICE_LIFETIME]
    ends += [when for when in (until,) if when is not None]
    if action is not None and action.excerpt_expires_at is not None:
        ends.append(action.excerpt_expires_at)
    if target is not None and target.expires_at is not None:
        ends.append(target.expires_at)
    db.session.add(
        Notice(
            account_id=account_id,
            text=text[:500],
            link=link,
            action_id=action.id if action is not None else None,
            target_kind=target.kind if target is not None else None,
            target_id=target.id if target is not None else None,
            created_at=now,
            expires_at=min(ends),
        )
    )


def unseen_count(account: Account | None) -> int:
    """How many of the account's live notices it has not seen yet (the header's count)."""
    if account is None:
        return 0
    return db.session.scalar(
        sa.select(sa.func.count(Notice.id)).where(
            Notice.account_id == account.id, access.live(Notice.expires_at), ~Notice.seen
        )
    )


def mark_seen(account: Account, rows: list[Notice]) -> None:
    """The notices the account was just shown; commits."""
    ids = [row.id for row in rows if not row.seen]
    if ids:
        db.session.execute(
            sa.update(Notice)
            .where(Notice.account_id == account.id, Notice.id.in_(ids))
            .values(seen=True)
        )
        db.session.commit()


def list_for(account: Account, page: int = 1) -> tuple[list[Notice], bool]:
    """The account's live notices, newest first; (rows, has_next)."""
    found = paginate(
        sa.select(Notice)
        .where(Notice.account_id == account.id, access.live(Notice.expires_at))
        .order_by(Notice.id.desc()),
        page,
        PER_PAGE,
    )
    return found.items, found.has_next
