"""Safety tools: bad-date reports and "check before you meet" (more to come).

``init_app`` checks the identifier key, registers the expiry sweeps and the
account-deletion receiver. The views are in ``forum/views/safety.py``.
"""

from __future__ import annotations

from flask import Flask

from forum import expiry
from forum import signals
from forum.safety import baddates
from forum.safety import identifiers
from forum.safety.models import BadDateReport


def init_app(app: Flask) -> None:
    identifiers.init_app(app)
    returning = ("id", "space_id")
    expiry.register(expiry.Expirer("bad_date_reports", BadDateReport, returning=returning, order=40))
    signals.account_deleting.connect(baddates.account_hook)
