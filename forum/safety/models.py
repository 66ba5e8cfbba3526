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

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    space_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    # The reporter: never shown to members; shown to moderators while pending.
    author_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    # Filed by a hosting organisation's staff for a worker, with her consent.
    for_worker: so.Mapped[bool] = so.mapped_column(default=False)
    happened_on: so.Mapped[date] = so.mapped_column(sa.Date)
    part_of_day: so.Mapped[str] = so.mapped_column(sa.String(10))
    area: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    # Space-separated short codes (forum/safety/baddates.py CATEGORIES), e.g. "VI NC".
    codes: so.Mapped[str] = so.mapped_column(sa.String(60))
    body: so.Mapped[str] = so.mapped_column(sa.Text, default="")
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
