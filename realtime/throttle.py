"""A per-socket token bucket: the first thing every Socket.IO event meets.

Each event a client sends costs the server a Flask request context, a session re-check
and usually a query or a write (``realtime/namespace.py``). A single socket emitting
thousands of events a second would queue all that work ahead of everyone else's events
(measured: a 10,000-event flood left other clients' heartbeats unanswered for 15 s on
the 2-core machine, with most of the server's time in request contexts and the
per-event session lookup). So each socket holds a bucket of ``burst`` events refilled
at ``rate`` per second, checked before any of that work; an event past it is answered
at once with the same 429 ack as the chat rate limit (never dropped in silence).

The bucket is per connection, held by the process that holds the socket (a socket
lives in one process); per-account limits, which must hold across processes, stay in
``forum/ratelimit.py`` (Redis when set). The default leaves what the app's own pages
send far below it: a heartbeat every 25 s, one ``watch_thread`` per open thread, chat
and typing at human speed, the resend of pending messages after a reconnect.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

# Lazy: the namespace puts it into each socket's language at connect (``refusal``'s text).
SLOW_DOWN = _l("You are sending too fast. Please wait a moment and try again.")


@dataclass
class _Bucket:
    tokens: float
    at: float


class Throttle:
    """``allow(sid)`` is None while the socket may go on, else the seconds to wait."""

    def __init__(
        self, rate: float, burst: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a socket throttle needs rate > 0 and burst >= 1")
        self.rate, self.burst, self._now = float(rate), int(burst), monotonic
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def allow(self, sid: str) -> int | None:
        now = self._now()
        with self._lock:
            bucket = self._buckets.get(sid)
            if bucket is None:
                bucket = self._buckets[sid] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return max(1, math.ceil((1 - bucket.tokens) / self.rate))

    def forget(self, sid: str) -> None:
        with self._lock:
            self._buckets.pop(sid, None)

    def __len__(self) -> int:
        return len(self._buckets)


def refusal(retry_after: int, text: str | None = None) -> dict:
    """The ack for an event past the bucket: the shape of every refused event's ack.
    ``text``: the words in the socket's language (English when it has none)."""
    error = text if text is not None else str(SLOW_DOWN)
    return {"ok": False, "error": error, "status": 429, "retry_after": retry_after}
