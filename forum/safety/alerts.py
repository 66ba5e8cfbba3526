"""Urgent alerts in a space: a raid, a dangerous client nearby.

Members whose name in the space is at trust level 1 or more raise one
(``moderation/trust.py``'s ``can_raise_alert``, handed over through
``forum/safety/policy.py``), at most ``RAISE_RATE`` per name. Every member of the
space sees a banner on every page, and live, until the alert expires (the space's
``alert_hours``, 12 by default) or they dismiss it. Others confirm it ("I saw this
too"); moderators remove it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forum import access
from forum import clock
from forum import ratelimit
from forum import signals
from forum import text
from forum.dbtypes import UTCDateTime
from forum.errors import Forbidden
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.models import Membership
from forum.models import Space
from forum.safety import baddates
from forum.safety import policy
from forum.safety.models import AlertConfirmation
from forum.safety.models import UrgentAlert

MAX_BODY = 500
REASON_MAX = 300  # the moderation log's reason column
RAISE_RATE = "3 per hour"
NEW_ACCOUNT = _l(
    "New members can't raise urgent alerts yet. Ask a member who has been here a little "
    "longer, or a moderator, to raise it."
)


def _alert(actor: Account | None, alert_id: object) -> tuple[UrgentAlert, access.SpaceAccess]:
    """A live alert in a space the actor belongs to; NotFound otherwise."""
    if actor is None:
        raise NotFound()
    alert_id = access.row_id(alert_id)
    row = db.session.get(UrgentAlert, alert_id)
    if row is None:
        raise NotFound()
    acc = access.access_space_by_id(actor, row.space_id)
    if not acc.takes_part or not access.shows(actor, row, moderator=acc.has_role("moderator")):
        raise NotFound()
    return row, acc


def raise_alert(actor: Account, slug: object, body: object) -> UrgentAlert:
    acc = access.access_space(actor, slug)
    membership = acc.require_write()
    now = clock.now()
    if not policy.can_raise_alert(actor, membership, now):
        raise Forbidden(NEW_ACCOUNT)
    body = text.clean(body, _("alert"), MAX_BODY)
    # Per name, like every limit others could notice (docs/PRIVACY.md).
    ratelimit.hit(RAISE_RATE, "urgent-alert", membership.persona)
    hours = baddates.settings_for(acc.space.id).alert_hours
    row = UrgentAlert(
        space_id=acc.space.id,
        author_id=actor.id,
        author_name=membership.display_name[:64],
        body=body,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(row)
    db.session.flush()
    db.session.add(
        AlertConfirmation(alert_id=row.id, account_id=actor.id, confirmed=True, dismissed=True)
    )
    db.session.commit()
    signals.urgent_alert.send(row.id, space_id=row.space_id, account_ids=audience(row))
    return row


def audience(row: UrgentAlert) -> list[int]:
    """Members of the alert's space, except its author."""
    return list(
        db.session.scalars(
            sa.select(Membership.account_id).where(
                Membership.space_id == row.space_id, Membership.account_id != row.author_id
            )
        )
    )


def _mark(actor: Account, alert_id: object, **values: bool) -> UrgentAlert:
    row, _acc = _alert(actor, alert_id)
    mark = db.session.get(AlertConfirmation, (row.id, actor.id))
    if mark is None:
        mark = AlertConfirmation(
            alert_id=row.id, account_id=actor.id, confirmed=False, dismissed=False
        )
        db.session.add(mark)
    for key, value in values.items():
        setattr(mark, key, value)
    db.session.commit()
    return row


def confirm(actor: Account, alert_id: object) -> UrgentAlert:
    """ "I saw this too" (once per member; it also dismisses the banner for them)."""
    return _mark(actor, alert_id, confirmed=True, dismissed=True)


def dismiss(actor: Account, alert_id: object) -> UrgentAlert:
    return _mark(actor, alert_id, dismissed=True)


def remove(actor: Account, alert_id: object, reason: object = "") -> int:
    """Moderators delete an alert at once, with a line in the space's moderation log (in
    the same transaction, like every moderator action); returns its space id.

    The log line names the alert's author as the space knows them and the reason, never
    the alert's text (it may describe a person or a place; it is gone with the alert).
    """
    row, acc = _alert(actor, alert_id)
    acc.require_role("moderator")
    reason = text.clean(reason, _("reason"), REASON_MAX, required=False)
    space_id, listeners = row.space_id, audience(row)
    policy.log_alert_removal(
        acc, actor, author_id=row.author_id, author_name=row.author_name, reason=reason
    )
    db.session.delete(row)
    db.session.commit()
    signals.urgent_alert_removed.send(alert_id, space_id=space_id, account_ids=listeners)
    return space_id


@dataclass
class AlertView:
    alert: UrgentAlert
    space_name: str
    space_id: int
    confirmations: int


def _confirmations(alert_id: int) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AlertConfirmation)
            .where(AlertConfirmation.alert_id == alert_id, AlertConfirmation.confirmed.is_(True))
        )
        or 0
    )


@functools.cache
def _banner_statements() -> tuple[sa.Select, sa.Exists]:
    """The banner's rows and whether there are any, built once (every signed-in page asks):
    ``:account_id`` and ``:now`` are bound when they run."""
    account_id, now = sa.bindparam("account_id"), sa.bindparam("now", type_=UTCDateTime())
    dismissed = sa.select(AlertConfirmation.alert_id).where(
        AlertConfirmation.account_id == account_id, AlertConfirmation.dismissed.is_(True)
    )
    rows = (
        sa.select(UrgentAlert, Space)
        .join(Space, Space.id == UrgentAlert.space_id)
        .join(
            Membership,
            sa.and_(
                Membership.space_id == UrgentAlert.space_id, Membership.account_id == account_id
            ),
        )
        .where(
            # A warning reaches everyone it is for: blocks do not silence it.
            access.visible(None, UrgentAlert, blocks=False, now=now),
            UrgentAlert.id.not_in(dismissed),
        )
    )
    return rows.order_by(UrgentAlert.id.desc()).limit(10), sa.exists(rows)


def banner_pending() -> sa.Exists:
    """SQL truth: :func:`banner_for` has something for ``:account_id`` at ``:now``."""
    return _banner_statements()[1]


def banner_for(account: Account) -> list[AlertView]:
    """Live alerts in the account's spaces it has not dismissed, newest first."""
    params = {"account_id": account.id, "now": clock.now()}
    rows = db.session.execute(_banner_statements()[0], params).all()
    return [AlertView(row, space.name, space.id, _confirmations(row.id)) for row, space in rows]


def list_for_space(actor: Account, slug: object) -> tuple[access.SpaceAccess, list[AlertView]]:
    acc = access.access_space(actor, slug)
    if not acc.takes_part:
        raise NotFound()
    rows = db.session.scalars(
        sa.select(UrgentAlert)
        .where(
            UrgentAlert.space_id == acc.space.id,
            access.visible(actor, UrgentAlert, moderator=acc.has_role("moderator"), blocks=False),
        )
        .order_by(UrgentAlert.id.desc())
        .limit(50)
    ).all()
    return acc, [
        AlertView(row, acc.space.name, acc.space.id, _confirmations(row.id)) for row in rows
    ]


def account_hook(account_id: int, keep_content: bool) -> None:
    """On account deletion: their alerts go, or (keeping content) lose their name."""
    if keep_content:
        db.session.execute(
            sa.update(UrgentAlert)
            .where(UrgentAlert.author_id == account_id)
            .values(author_name="[deleted]")
        )
    else:
        db.session.execute(
            sa.delete(UrgentAlert)
            .where(UrgentAlert.author_id == account_id)
            .execution_options(synchronize_session=False)
        )
