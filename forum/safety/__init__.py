"""Safety tools: bad-date reports and "check before you meet" (more to come).

``init_app`` checks the identifier key, registers the expiry sweeps and the
account-deletion hook. The views are in ``forum/views/safety.py``.
"""

from __future__ import annotations

from flask import Flask

from forum import accounts
from forum import expiry
from forum.safety import baddates
from forum.safety import identifiers
from forum.safety.models import BadDateReport


def init_app(app: Flask) -> None:
    identifiers.init_app(app)
    # Built here, not at import: moderation imports this package while forum.expiry loads.
    expiry.register(expiry.Expirer("bad_date_reports", BadDateReport, returning=("id", "space_id"), order=40))
    accounts.register_content_hook(baddates.account_hook)
