"""Safety check-ins: "if I have not checked in by then, alert my buddies".

A member starts a check-in with a deadline, picks which buddies hear about it
(and, in a closed space hosted by an organisation that offers it, the
organisation's staff), and may leave a private note for them (where, who,
plate). Then:

- "I'm safe" closes it: the row and its note are deleted at once;
- "extend" moves the deadline;
- "I need help now" alerts at once.

If the deadline passes, :func:`fire_due` (run every few seconds by the server's
timer and by ``flask expire``) marks it fired with one conditional UPDATE, so the
alert goes out exactly once even with several processes, and survives a restart
(the row is the timer). Contacts see a banner on every page until they open the
alert (``banner_for``); that banner depends only on the stored deadline, so it
also shows without JavaScript and before the timer has run. The note is deleted
with the check-in, and by the expiry sweep 24 hours after the deadline at the
latest. Nothing is ever sent to the police or any third party: alerts go only to
the contacts the member chose, inside this site.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask_babel import gettext as _

from forum import access
from forum import clock
from forum import expiry
from forum import signals
from forum import text
from forum.dbtypes import UTCDateTime
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.extensions import socketio
from forum.models import Account
from forum.models import Membership
from forum.models import Organisation
from forum.models import OrgStaff
from forum.models import Space
from forum.safety import buddies
from forum.safety.models import Buddy
from forum.safety.models import CheckIn
from forum.safety.models import CheckInContact

log = logging.getLogger(__name__)

MIN_MINUTES, MAX_MINUTES = 5, 24 * 60
NOTE_MAX = 1000
MAX_ACTIVE = 3
KEEP_AFTER_DEADLINE = timedelta(hours=24)
MISSED, HELP = "missed", "help"


# --- who hears ----------------------------------------------------------------------------


def org_contacts_for(actor: Account) -> list[tuple[Organisation, Space]]:
    """Organisations hosting a closed space the actor belongs to: they may be a contact."""
    rows = db.session.execute(
        sa.select(Organisation, Space)
        .join(Space, Space.organisation_id == Organisation.id)
        .join(Membership, Membership.space_id == Space.id)
        .where(Membership.account_id == actor.id, Space.kind != "open")
        .order_by(Organisation.name)
    ).all()
    seen: dict[int, tuple[Organisation, Space]] = {}
    for org, space in rows:
        seen.setdefault(org.id, (org, space))
    return list(seen.values())


def audience(checkin_id: int) -> list[int]:
    """Account ids that hear a check-in's alert: the chosen buddies and organisations' staff."""
    direct = sa.select(CheckInContact.account_id).where(
        CheckInContact.checkin_id == checkin_id, CheckInContact.account_id.is_not(None)
    )
    staff = (
        sa.select(OrgStaff.account_id)
        .join(CheckInContact, CheckInContact.organisation_id == OrgStaff.organisation_id)
        .where(CheckInContact.checkin_id == checkin_id)
    )
    return sorted(set(db.session.scalars(direct)) | set(db.session.scalars(staff)))


def _contact_rows(account_id: int) -> sa.Select:
    """The contact rows through which ``account_id`` hears alerts (directly or as staff)."""
    orgs = sa.select(OrgStaff.organisation_id).where(OrgStaff.account_id == account_id)
    return sa.select(CheckInContact).where(
        sa.or_(CheckInContact.account_id == account_id, CheckInContact.organisation_id.in_(orgs))
    )


# --- the member's side --------------------------------------------------------------------


def _minutes(raw: object) -> int:
    value = text.whole_number(raw, _("time"), MIN_MINUTES, MAX_MINUTES)
    if value is None:
        raise Invalid(_("Please say in how many minutes you expect to check in."))
    return value


def _ids(raw: object) -> list[int]:
    if raw is None:
        return []
    if not isinstance(raw, list | tuple):
        raw = [raw]
    if len(raw) > buddies.MAX_BUDDIES + 10:
        raise Invalid(_("Please choose fewer contacts."))
    out = []
    for value in raw:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise Invalid(_("Please choose contacts from the list."))
        if isinstance(value, str) and not (
            value.isascii() and value.isdigit() and len(value) <= 12
        ):
            raise Invalid(_("Please choose contacts from the list."))
        out.append(int(value))
    return sorted(set(out))


def start(
    actor: Account, *, minutes: object, buddy_ids: object, org_ids: object = None, note: object = ""
) -> CheckIn:
    """Start a check-in: contacts are accepted buddies and offered organisations only."""
    now = clock.now()
    minutes = _minutes(minutes)
    note = text.clean(note, _("note"), NOTE_MAX, required=False, multiline=True)
    active = db.session.scalar(
        sa.select(sa.func.count()).select_from(CheckIn).where(CheckIn.account_id == actor.id)
    )
    if active >= MAX_ACTIVE:
        raise Invalid(
            _("You have %(max_active)s check-ins running. Close one first.", max_active=MAX_ACTIVE)
        )
    chosen: list[Buddy] = []
    for buddy_id in _ids(buddy_ids):
        try:
            chosen.append(buddies.access_buddy(actor, buddy_id))
        except NotFound:
            raise Invalid(_("Please choose contacts from your buddies.")) from None
    offered = {org.id: space for org, space in org_contacts_for(actor)}
    orgs = _ids(org_ids)
    if any(org_id not in offered for org_id in orgs):
        raise Invalid(_("Please choose contacts from the list."))
    if not chosen and not orgs:
        raise Invalid(_("Please choose at least one buddy to alert."))
    space_id = chosen[0].space_id if chosen else offered[orgs[0]].id
    deadline = now + timedelta(minutes=minutes)
    checkin = CheckIn(
        account_id=actor.id,
        space_id=space_id,
        deadline=deadline,
        note=note,
        created_at=now,
        expires_at=deadline + KEEP_AFTER_DEADLINE,
    )
    db.session.add(checkin)
    db.session.flush()
    for row in chosen:
        db.session.add(CheckInContact(checkin_id=checkin.id, account_id=row.other(actor.id)))
    for org_id in orgs:
        db.session.add(CheckInContact(checkin_id=checkin.id, organisation_id=org_id))
    db.session.commit()
    return checkin


def access_own(actor: Account | None, checkin_id: object) -> CheckIn:
    if actor is None:
        raise NotFound()
    checkin_id = access.row_id(checkin_id)
    row = db.session.get(CheckIn, checkin_id)
    if row is None or row.account_id != actor.id or row.expires_at <= clock.now():
        raise NotFound()
    return row


def mine(actor: Account) -> list[CheckIn]:
    return list(
        db.session.scalars(
            sa.select(CheckIn)
            .where(CheckIn.account_id == actor.id, access.live(CheckIn.expires_at))
            .order_by(CheckIn.deadline)
        )
    )


def safe(actor: Account, checkin_id: object) -> None:
    """ "I'm safe": the check-in and its note are deleted now; contacts who were alerted hear it."""
    row = access_own(actor, checkin_id)
    alerted = row.fired_at is not None or row.help_at is not None or row.deadline <= clock.now()
    listeners = audience(row.id)
    name = buddies.name_in(row.space_id, actor.id)
    db.session.delete(row)
    db.session.commit()
    expiry.checkpoint()  # SQLite: the note's old page leaves the -wal file too
    signals.checkin_closed.send(checkin_id, account_ids=listeners, name=name, alerted=alerted)


def extend(actor: Account, checkin_id: object, minutes: object) -> CheckIn:
    """Move the deadline later (from now if it has passed); a fired alert is re-armed."""
    row = access_own(actor, checkin_id)
    minutes = _minutes(minutes)
    now = clock.now()
    was_alerted = row.fired_at is not None or row.deadline <= now
    row.deadline = max(row.deadline, now) + timedelta(minutes=minutes)
    row.expires_at = row.deadline + KEEP_AFTER_DEADLINE
    row.fired_at = None
    db.session.commit()
    if was_alerted and row.help_at is None:
        signals.checkin_closed.send(
            row.id,
            account_ids=audience(row.id),
            name=buddies.name_in(row.space_id, actor.id),
            alerted=True,
        )
    return row


def help_now(actor: Account, checkin_id: object) -> CheckIn:
    """ "I need help now": alerts the contacts at once (once; pressing again changes nothing)."""
    row = access_own(actor, checkin_id)
    now = clock.now()
    done = db.session.execute(
        sa.update(CheckIn)
        .where(CheckIn.id == row.id, CheckIn.help_at.is_(None))
        .values(help_at=now)
    ).rowcount
    # A call for help keeps the note for a full day from now.
    row.expires_at = max(row.expires_at, now + KEEP_AFTER_DEADLINE)
    db.session.execute(
        sa.update(CheckInContact).where(CheckInContact.checkin_id == row.id).values(opened_at=None)
    )
    db.session.commit()
    if done:
        _announce(row.id, HELP)
    return row


# --- the timer --------------------------------------------------------------------------------


def fire_due(now: datetime | None = None, batch: int = 200) -> int:
    """Mark check-ins whose deadline passed as fired, exactly once each; announce them.

    One statement claims and marks: ``UPDATE ... WHERE fired_at IS NULL AND id IN
    (SELECT ... FOR UPDATE SKIP LOCKED)`` on PostgreSQL (SQLite has one writer), and
    ``RETURNING`` gives exactly the rows this process fired. The signal is sent
    after the commit.

    It first looks, read-only, whether anything is due: most rounds find nothing and
    then take no write lock at all (on SQLite under eventlet, a writer waiting for the
    lock would stall every green thread of the process, chat included).
    """
    now = now or clock.now()
    due = (
        CheckIn.fired_at.is_(None),
        CheckIn.help_at.is_(None),
        CheckIn.deadline <= now,
        CheckIn.expires_at > now,
    )
    if db.session.scalar(sa.select(CheckIn.id).where(*due).limit(1)) is None:
        db.session.rollback()  # end the read transaction
        return 0
    claim = sa.select(CheckIn.id).where(*due).limit(batch).with_for_update(skip_locked=True)
    fired = list(
        db.session.scalars(
            sa.update(CheckIn)
            .where(CheckIn.id.in_(claim.scalar_subquery()), CheckIn.fired_at.is_(None))
            .values(fired_at=now)
            .returning(CheckIn.id)
        )
    )
    db.session.commit()
    for checkin_id in fired:
        _announce(checkin_id, MISSED)
    return len(fired)


def _announce(checkin_id: int, kind: str) -> None:
    row = db.session.get(CheckIn, checkin_id)
    if row is None:
        return
    signals.checkin_alert.send(
        checkin_id,
        kind=kind,
        account_ids=audience(checkin_id),
        name=buddies.name_in(row.space_id, row.account_id),
        note=row.note,
    )


def maintenance(now: datetime) -> dict[str, int]:
    return {"check-ins fired": fire_due(now)}


_timer_lock = threading.Lock()
_timer_started = False


def start_timer(app: Flask) -> bool:
    """Fire due check-ins every ``RB_CHECKIN_INTERVAL`` seconds (entry points call this once)."""
    global _timer_started
    interval = app.config.get("RB_CHECKIN_INTERVAL") or 0
    if interval <= 0:
        return False
    with _timer_lock:
        if _timer_started:
            return False
        _timer_started = True
    socketio.start_background_task(_tick_forever, app, interval)
    return True


def tick(app: Flask) -> int | None:
    """One round in its own app context; a failure is logged (type only) and the loop goes on."""
    try:
        with app.app_context():
            try:
                return fire_due()
            finally:
                db.session.remove()
    except Exception as error:
        log.error("check-in timer failed: %s", type(error).__name__)
        return None


def _tick_forever(app: Flask, interval: float) -> None:
    while True:
        tick(app)
        socketio.sleep(interval)


# --- the contacts' side -----------------------------------------------------------------------


@dataclass
class Alert:
    checkin: CheckIn
    name: str
    kind: str  # MISSED or HELP

    @property
    def id(self) -> int:
        return self.checkin.id


def _alerting(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        CheckIn.expires_at > now, sa.or_(CheckIn.deadline <= now, CheckIn.help_at.is_not(None))
    )


@functools.cache
def _banner_statements() -> tuple[sa.Select, sa.Exists]:
    """The banner's rows and whether there are any, built once (every signed-in page asks):
    ``:account_id`` and ``:now`` are bound when they run."""
    account_id, now = sa.bindparam("account_id"), sa.bindparam("now", type_=UTCDateTime())
    contacts = _contact_rows(account_id).where(CheckInContact.opened_at.is_(None)).subquery()
    rows = (
        sa.select(CheckIn)
        .join(contacts, contacts.c.checkin_id == CheckIn.id)
        .where(_alerting(now), CheckIn.account_id != account_id)
    )
    return rows.order_by(CheckIn.deadline).limit(20), sa.exists(rows)


def banner_pending() -> sa.Exists:
    """SQL truth: :func:`banner_for` has something for ``:account_id`` at ``:now``."""
    return _banner_statements()[1]


def banner_for(account: Account) -> list[Alert]:
    """Alerts this account has not opened yet (as a buddy or organisation staff)."""
    params = {"account_id": account.id, "now": clock.now()}
    rows = db.session.scalars(_banner_statements()[0], params).unique().all()
    return [
        Alert(row, buddies.name_in(row.space_id, row.account_id), HELP if row.help_at else MISSED)
        for row in rows
    ]


def open_alert(actor: Account, checkin_id: object) -> Alert:
    """A contact opens an alert: the note is shown, the banner goes (for that contact)."""
    checkin_id = access.row_id(checkin_id)
    now = clock.now()
    row = db.session.scalar(sa.select(CheckIn).where(CheckIn.id == checkin_id, _alerting(now)))
    if row is None:
        raise NotFound()
    contacts = list(
        db.session.scalars(_contact_rows(actor.id).where(CheckInContact.checkin_id == row.id))
    )
    if not contacts:
        raise NotFound()
    for contact in contacts:
        contact.opened_at = contact.opened_at or now
    db.session.commit()
    return Alert(
        row, buddies.name_in(row.space_id, row.account_id), HELP if row.help_at else MISSED
    )
