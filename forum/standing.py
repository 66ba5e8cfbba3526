"""Standing: what trust levels know about a name, kept as counters on the name's own row.

A person shows one name per space. Trust (``moderation/trust.py``) belongs to the
name that is shown, never to the account behind it, so nothing one name may do
(how much its flag weighs, whether it may post links, its chat rate, whether it
may raise an urgent alert or publish a bad-date report) tells anyone which other
names belong to the same person (docs/PRIVACY.md, "Trust belongs to a name"):

- the everyday alias is one name in every space where it is shown: its standing
  is kept on the account row and dates from the account's creation;
- a space name is its own name, in its space only: its standing is kept on the
  membership row and dates from joining under it.

The counters (``forum.models.Standing``) are updated in the transaction of the
write or decision they count (``count_post`` here, flag decisions in
``moderation/trust.py``), so finding a level reads one row that is loaded anyway:
no COUNT over anyone's history. ``trust_posts`` stops at ``POSTS_KEPT``, the
highest number a rule needs, so the row never tells more than the rules use.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from forum import statements
from forum.extensions import db
from forum.models import Account
from forum.models import AccountRow
from forum.models import Membership
from forum.models import MembershipRow

# The highest post count any trust rule asks for (moderation/trust.py TRUSTED_MIN_POSTS).
POSTS_KEPT = 50

Holder = Account | Membership | AccountRow | MembershipRow


def holder(membership: Membership | MembershipRow) -> Holder:
    """The row that keeps the standing of the name ``membership`` shows."""
    return membership if membership.space_alias is not None else membership.account


def since(membership: Membership | None, account: Account) -> datetime:
    """When the name began: joining, for a space name; the account's creation, for the alias."""
    if membership is not None and membership.space_alias is not None:
        return membership.joined_at
    return account.created_at


def membership_in(account_id: int, space_id: int) -> Membership | None:
    return db.session.scalar(
        sa.select(Membership).where(
            Membership.space_id == space_id, Membership.account_id == account_id
        )
    )


def count_post(membership: Membership | MembershipRow) -> None:
    """One more post or chat message under the name ``membership`` shows (no commit).

    Written as ``SET trust_posts = trust_posts + 1`` below the cap, so concurrent
    writers do not lose counts; a name at the cap writes nothing. An entity's count is
    set to that expression (its flush writes it); a plain row's (a chat send,
    ``forum/models.py``) is written now, by a statement built once.
    """
    row = holder(membership)
    if row.trust_posts >= POSTS_KEPT:
        return
    if isinstance(row, (AccountRow, MembershipRow)):
        statements.run(_COUNT_POST[row.model], {"row_id": row.id})
        entity = statements.loaded(row.model, row.id)
        if entity is not None:
            db.session.expire(entity, ["trust_posts"])  # read afresh if asked
    else:
        row.trust_posts = _counted(type(row).trust_posts)


def _counted(column: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    """The count one more, up to ``POSTS_KEPT``: the one rule for both writes above."""
    return sa.case((column < POSTS_KEPT, column + 1), else_=column)


_COUNT_POST = {
    model: sa.update(model.__table__)
    .where(model.__table__.c.id == sa.bindparam("row_id"))
    .values(trust_posts=_counted(model.__table__.c.trust_posts))
    for model in (Account, Membership)
}


def holder_of_author(account_id: int | None, space_id: int, author_name: str) -> Holder | None:
    """The row keeping the standing of the name something was written under, if that
    name still exists: the member's current name in the space, if it is the one
    written under; else their everyday alias, if that was it; else None (a name
    given up when they left the space must not mark the name they use now)."""
    if account_id is None:
        return None
    membership = membership_in(account_id, space_id)
    if membership is not None and membership.display_name == author_name:
        return holder(membership)
    account = db.session.get(Account, account_id)
    if account is not None and account.alias == author_name:
        return account
    return None


def holder_of_flagger(account_id: int, space_id: int, flagged_at: datetime) -> Holder | None:
    """The row keeping the standing of the name a flag was raised under: the flagger's
    membership of the space, unless they joined again (under another name, perhaps)
    after flagging."""
    membership = membership_in(account_id, space_id)
    if membership is None or membership.joined_at > flagged_at:
        return None
    return holder(membership)
