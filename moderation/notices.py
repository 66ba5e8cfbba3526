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
from moderation.models import Notice

NOTICE_LIFETIME = timedelta(days=30)
PER_PAGE = 20


def notify(
    account_id: int | None, text: str, link: str | None = None, until: datetime | None = None
) -> None:
    """Tell one account. ``until``: the notice is about content that lives only this long
    (a log line's copy of it, ``ModAction.excerpt_expires_at``); it goes then too."""
    if account_id is None:
        return
    now = clock.now()
    expires = now + NOTICE_LIFETIME if until is None else min(now + NOTICE_LIFETIME, until)
    db.session.add(
        Notice(
            account_id=account_id, text=text[:500], link=link, created_at=now, expires_at=expires
        )
    )


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
