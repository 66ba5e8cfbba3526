"""Private notices to one account (your post was hidden, your appeal was decided).

``notify`` adds a row to the caller's transaction (no commit): the notice is
written with the action it reports, or not at all. It stores a code and its values,
never a sentence: ``words`` says them in the reader's language when the notices page
is shown (``moderation/wording.py``).
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from forum import access
from forum import clock
from forum.dbtypes import UTCDateTime
from forum.extensions import db
from forum.models import Account
from forum.models import Space
from forum.pagination import paginate
from moderation import wording
from moderation.models import ModAction
from moderation.models import Notice
from moderation.targets import Target

NOTICE_LIFETIME = timedelta(days=30)
PER_PAGE = 20


def notify(
    account_id: int | None,
    code: str,
    values: dict[str, Any],
    link: str | None = None,
    until: datetime | None = None,
    *,
    action: ModAction | None = None,
    target: Target | None = None,
) -> None:
    """Tell one account: ``code`` is a key of ``wording.NOTICES``, ``values`` its values
    (ids, numbers, keys and the moderator's reason as typed).

    The notice goes after NOTICE_LIFETIME, or earlier with what it is about: ``until``;
    the log line ``action`` reports (its ``excerpt_expires_at``); the content
    ``target``. Both are remembered, so when their lives are shortened
    later the notice's is too (``moderation/expiry.py`` ``cap_copies``)."""
    if code not in wording.NOTICES:
        raise ValueError(f"no wording for the notice code {code!r}")
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
            text="",
            code=code,
            params=wording.dump(values),
            link=link,
            action_id=action.id if action is not None else None,
            target_kind=target.kind if target is not None else None,
            target_id=target.id if target is not None else None,
            created_at=now,
            expires_at=min(ends),
        )
    )


def unseen_count() -> sa.ScalarSelect[int]:
    """How many of ``:account_id``'s live notices at ``:now`` it has not seen yet: the
    header's count, read with the page's other header values (forum/header.py)."""
    now = sa.bindparam("now", type_=UTCDateTime())
    return (
        sa.select(sa.func.count(Notice.id))
        .where(
            Notice.account_id == sa.bindparam("account_id"),
            access.live(Notice.expires_at, now),
            ~Notice.seen,
        )
        .scalar_subquery()
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


def words(rows: list[Notice]) -> dict[int, str]:
    """Each notice's sentence in the reader's language, by notice id (one query for the
    spaces' names). A row from before codes existed shows its stored text as it is."""
    values = {row.id: wording.load(row.params) for row in rows if row.code is not None}
    ids = {wording.space_id(v) for v in values.values()} - {None}
    names = {
        space_id: name
        for space_id, name in db.session.execute(
            sa.select(Space.id, Space.name).where(Space.id.in_(ids))
        )
    }
    said = {}
    for row in rows:
        sentence = None
        if row.id in values:
            found = values[row.id]
            sentence = wording.notice(row.code, found, names.get(wording.space_id(found)))
        if sentence is None:
            sentence = row.text or _("A moderator acted on something of yours.")
        said[row.id] = sentence
    return said
