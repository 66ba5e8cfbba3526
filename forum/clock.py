"""The one seam for "now". Code calls ``clock.now()``; tests monkeypatch it.

Never ``from forum.clock import now``: a frozen clock must reach every caller.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def today() -> datetime:
    """Midnight UTC of the current day: for times we keep only to the day (docs/PRIVACY.md)."""
    return to_day(now())


def to_day(when: datetime) -> datetime:
    """``when`` truncated to midnight of its UTC day."""
    return when.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
