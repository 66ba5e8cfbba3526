"""Safety tools: bad-date reports and "check before you meet", buddies, check-ins.

``init_app`` checks the identifier key, registers the expiry sweeps, the check-in
timer's maintenance round, the account-deletion receivers and the alert banner that
every page shows. The views are ``forum/views/safety.py`` and ``forum/views/buddies.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_babel import ngettext

from forum import clock
from forum import expiry
from forum import header
from forum import signals
from forum.models import Account
from forum.safety import alerts
from forum.safety import baddates
from forum.safety import checkins
from forum.safety import identifiers
from forum.safety.models import BadDateReport
from forum.safety.models import CheckIn
from forum.safety.models import DirectMessage
from forum.safety.models import UrgentAlert


def init_app(app: Flask) -> None:
    identifiers.init_app(app)
    returning = ("id", "space_id")
    expiry.register(
        expiry.Expirer("bad_date_reports", BadDateReport, returning=returning, order=40)
    )
    # A check-in's note goes with its row, 24 hours after the deadline at the latest.
    expiry.register(expiry.Expirer("checkins", CheckIn, returning=("id", "account_id"), order=45))
    expiry.register(
        expiry.Expirer("direct_messages", DirectMessage, returning=("id", "buddy_id"), order=46)
    )
    expiry.register(
        expiry.Expirer("urgent_alerts", UrgentAlert, returning=("id", "space_id"), order=47)
    )
    signals.maintenance_due.connect(checkins.maintenance)
    signals.account_deleting.connect(baddates.account_hook)
    signals.account_deleting.connect(alerts.account_hook)
    header.add(app, "alerts_pending", _anything_pending, then=_banner)
    app.add_template_filter(time_left, "time_left")


def _anything_pending() -> sa.ColumnElement[bool]:
    """SQL truth: either banner has something for ``:account_id`` at ``:now``."""
    return sa.or_(checkins.banner_pending(), alerts.banner_pending())


def _banner(account: Account, pending: bool) -> dict[str, Any]:
    """The alert banners of every signed-in page, asked at every page (forum/header.py: so
    an alert shows on the very next page, whichever process serves it). Most pages have
    none: the header's statement says so, and only then are the banners' rows read."""
    if not pending:
        return {"safety_alerts": [], "urgent_alerts": []}
    return {
        "safety_alerts": checkins.banner_for(account),
        "urgent_alerts": alerts.banner_for(account),
    }


def time_left(when: datetime) -> str:
    """ "42 min" / "3 h 5 min" until ``when`` (pages without JavaScript)."""
    minutes = max(0, int((when - clock.now()).total_seconds() // 60))
    if minutes < 60:
        return ngettext("%(num)d min", "%(num)d min", minutes)
    return f"{minutes // 60} h {minutes % 60:02d} min"
