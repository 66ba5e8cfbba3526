"""The one seam for "now". Code calls ``clock.now()``; tests monkeypatch it.

Never ``from forum.clock import now``: a frozen clock must reach every caller.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)
