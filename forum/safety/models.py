"""Safety tables: per-space safety settings, bad-date reports and their identifiers.

Privacy: no identifier of an aggressor (phone number, handle, email, plate) is
ever stored as typed. ``BadDateIdentifier.digest`` is an HMAC of the normalised
value under a key kept outside the database (``forum/safety/identifiers.py``),
so a copy of the database lists nobody's numbers. Reports record who filed
them (so the reporter can withdraw one, and it goes with their account), but
members never see it; moderators see it only while the report is pending.
"""

from __future__ import annotations

from datetime import date
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from forum.dbtypes import UTCDateTime
from forum.extensions import db
from forum.models import Authored
from forum.sealed import DAY
from forum.sealed import HOUR
from forum.sealed import Epoch
from forum.sealed import SealedText

REPORT_PENDING, REPORT_PUBLISHED = "pending", "published"


IDENTIFIER_KINDS = ("phone", "handle", "email", "plate")


class SafetySettings(db.Model):
    """A space's safety settings; a space without a row uses the defaults below."""

    __tablename__ = "safety_settings"

    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    # ISO 3166 region for phone numbers typed without a country code ("GB", "FR").
    region: so.Mapped[str] = so.mapped_column(sa.String(2), default="GB")
    # Reports by moderators and trusted members are published without a second pair of eyes.
    trusted_publish: so.Mapped[bool] = so.mapped_column(default=False)
    report_days: so.Mapped[int] = so.mapped_column(default=180)
    alert_hours: so.Mapped[int] = so.mapped_column(default=12)


class BadDateReport(db.Model):
    """A bad-date report in a space: what happened, when and roughly where.

    The column names ``author_id``, ``body``, ``hidden_at`` and ``expires_at`` are the
    ones moderation reads on every flaggable item (``moderation/targets.py``).
    """

    __tablename__ = "bad_date_reports"
    # Area and body sealed under the key of the space's day of expiry (forum/sealed.py).
    __sealed__ = Epoch(scope="space_id", expires="expires_at", length=DAY)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    # The reporter: never shown to members; shown to moderators while pending.
    author_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    # Filed by a hosting organisation's staff for a worker, with her consent.
    for_worker: so.Mapped[bool] = so.mapped_column(default=False)
    happened_on: so.Mapped[date] = so.mapped_column(sa.Date)
    part_of_day: so.Mapped[str] = so.mapped_column(sa.String(10))
    area: so.Mapped[str] = so.mapped_column(SealedText(100), default="")
    # Space-separated short codes (forum/safety/baddates.py CATEGORIES), e.g. "VI NC".
    codes: so.Mapped[str] = so.mapped_column(sa.String(60))
    body: so.Mapped[str] = so.mapped_column(SealedText(), default="")
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=REPORT_PENDING, index=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    published_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)
    hidden_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    identifiers: so.WriteOnlyMapped[BadDateIdentifier] = so.relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def author_name(self) -> str:
        """What moderation shows as the author: never the reporter (see the module docstring)."""
        return ""

    @property
    def code_list(self) -> list[str]:
        return self.codes.split()


class BadDateIdentifier(db.Model):
    """One identifier of the aggressor in a report, as a keyed hash only."""

    __tablename__ = "bad_date_identifiers"
    __table_args__ = (
        sa.Index("ix_bad_date_identifiers_lookup", "kind", "digest"),
        sa.UniqueConstraint("report_id", "kind", "digest"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    report_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("bad_date_reports.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[str] = so.mapped_column(sa.String(10))  # IDENTIFIER_KINDS
    digest: so.Mapped[str] = so.mapped_column(sa.String(64))  # hex HMAC-SHA256


# --- buddies, check-ins and direct messages ---------------------------------------------------

BUDDY_PENDING, BUDDY_ACCEPTED = "pending", "accepted"


class Buddy(db.Model):
    """Two members who look out for each other. Nothing passes until ``accepted_at``.

    ``space_id`` is the shared space where it was asked: each side shows the other
    by the name they use there. Ending it deletes the row (the other is not told).
    """

    __tablename__ = "safety_buddies"
    __table_args__ = (sa.UniqueConstraint("requester_id", "invitee_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    requester_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    invitee_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    accepted_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # How long their direct messages live, in hours (either may shorten it).
    dm_hours: so.Mapped[int] = so.mapped_column(default=168)

    def other(self, account_id: int) -> int:
        return self.invitee_id if self.requester_id == account_id else self.requester_id


class CheckIn(db.Model):
    """A safety check-in: "if I have not checked in by ``deadline``, alert my contacts".

    The row (and its private note) is deleted when the member checks in, and by the
    expiry sweep at ``expires_at`` (24 hours after the deadline) in any case.
    ``fired_at``/``help_at`` are set by one conditional UPDATE each, so the alert goes
    out exactly once whatever the number of server processes.
    """

    __tablename__ = "safety_checkins"
    __sealed__ = Epoch(scope="space_id", expires="expires_at", length=HOUR)  # the note

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # The shared space whose names the contacts see (the first buddy's, or the organisation's).
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    deadline: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)
    note: so.Mapped[str] = so.mapped_column(SealedText(), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    fired_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime(), index=True)
    help_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)


class CheckInContact(db.Model):
    """Who hears a check-in's alert: a buddy, or the staff of an organisation."""

    __tablename__ = "safety_checkin_contacts"
    __table_args__ = (
        sa.UniqueConstraint("checkin_id", "account_id"),
        sa.UniqueConstraint("checkin_id", "organisation_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    checkin_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("safety_checkins.id", ondelete="CASCADE"), index=True
    )
    account_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    organisation_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    # When this contact (or, for an organisation, one of its staff) opened the alert.
    opened_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())


class DirectMessage(db.Model):
    """A message between buddies. Stored, then acked; deleted at ``expires_at``,
    when the buddies part, and with either account."""

    __tablename__ = "safety_direct_messages"
    __sealed__ = Epoch(scope="space_id", expires="expires_at", length=HOUR)  # the body
    __table_args__ = (sa.UniqueConstraint("author_id", "client_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    buddy_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("safety_buddies.id", ondelete="CASCADE"), index=True
    )
    # The buddies' shared space: its moderators handle flags on the message.
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    author_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # The name the author uses in that space, as written (what the other buddy sees).
    author_name: so.Mapped[str] = so.mapped_column(sa.String(64))
    # The sender's own id for the message, so a retry after a lost ack is not stored twice.
    client_id: so.Mapped[str] = so.mapped_column(sa.String(40))
    body: so.Mapped[str] = so.mapped_column(SealedText())
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)
    hidden_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())


# --- urgent alerts and rights pages -----------------------------------------------------------


class UrgentAlert(Authored, db.Model):
    """An urgent alert in a space (a raid, a dangerous client nearby); a banner to members."""

    __tablename__ = "safety_alerts"
    __sealed__ = Epoch(scope="space_id", expires="expires_at", length=HOUR)  # the body

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    body: so.Mapped[str] = so.mapped_column(SealedText(500))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)


class AlertConfirmation(db.Model):
    """ "I saw this too", once per member; "seen" dismisses the banner for that member."""

    __tablename__ = "safety_alert_marks"

    alert_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("safety_alerts.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    confirmed: so.Mapped[bool] = so.mapped_column(default=False)
    dismissed: so.Mapped[bool] = so.mapped_column(default=False)


class RightsPage(db.Model):
    """A Markdown guide a space's moderators keep (rights, services), reviewed on a schedule."""

    __tablename__ = "safety_pages"
    __table_args__ = (sa.UniqueConstraint("space_id", "slug"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    slug: so.Mapped[str] = so.mapped_column(sa.String(64))
    title: so.Mapped[str] = so.mapped_column(sa.String(150))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    reviewed_on: so.Mapped[date] = so.mapped_column(sa.Date)
    review_days: so.Mapped[int] = so.mapped_column(default=180)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
