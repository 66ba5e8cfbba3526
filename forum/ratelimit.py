"""Rate-limit keys that never store a client address.

A client address is used for one thing only: an HMAC under a random key that
lives in memory (this process, or Redis, which runs without persistence) and is
replaced every day (UTC). Each day's key is dropped when the day ends: in Redis it
expires a minute after midnight UTC (the minute covers clocks a little apart), in a
process it is dropped when the next day's key is made. The counters it keyed stay
until their own windows run out (an hour at most), but without the key they cannot
be tied back to an address. Behind a Tor onion service every client is 127.0.0.1, so
limits also key on the alias, the account and the session (docs/STACK_FACTS.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import datetime
from datetime import timedelta

from flask import current_app
from flask import request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from forum import aliases
from forum import clock
from forum.errors import Invalid
from forum.errors import RateLimited
from forum.extensions import limiter

_local_keys: dict[str, bytes] = {}
_lock = threading.Lock()


# Redis keeps a day's key this long past midnight UTC (clocks of several processes differ a little).
KEY_GRACE = timedelta(minutes=1)


# --- this process's counters (no REDIS_URL) -------------------------------------------

MEMORY_URI = "rb-memory://"
# How often this process's counters drop their expired entries (seconds, at most).
SWEEP_EVERY = 10.0


class QuietMemoryStorage(MemoryStorage):
    """limits' own memory storage (same counters, same strategies, same answers), minus
    a thread per quiet moment.

    limits' ``MemoryStorage`` drops expired entries on a ``threading.Timer(0.01)``: every
    write (``incr``, ``decr``, ``acquire_entry``) calls its ``__schedule_expiry``, which
    starts a new Timer whenever the last one has finished, i.e. after any 10 ms without
    a write. On a chat server nearly every message comes after such a gap, so nearly
    every message paid for a thread: creating and starting it (~0.3-1 ms), and, since
    ``Thread.start`` waits until the new thread runs, a yield to the hub under eventlet
    or gevent in the middle of the send; then the timer walked every key 10 ms later.

    That sweep is only housekeeping: every answer (``get``, ``acquire_entry``,
    ``get_moving_window``) compares the entries' times with the clock itself, so what
    the sweep has not yet dropped never counts. Here the same sweep (limits' own
    ``__expire_events``) runs inline, in the write that finds it due, at most every
    ``SWEEP_EVERY`` seconds and one at a time: memory stays bounded by the longest
    window plus ``SWEEP_EVERY``, and no write starts a thread.

    Registered with limits as ``rb-memory://`` (``STORAGE_SCHEME``); the factory uses it
    wherever ``memory://`` would be (``storage_uri``). With ``REDIS_URL`` the counters
    are in Redis as before and this class is not used.
    """

    STORAGE_SCHEME = ["rb-memory"]
    _next_sweep = 0.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._sweeping = threading.Lock()

    # limits calls ``self.__schedule_expiry()`` from every write; inside its class that
    # name is ``_MemoryStorage__schedule_expiry``, so this replaces it (tests/test_ratelimit.py
    # fails loudly if a limits release renames it: a write would start a thread again).
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep or not self._sweeping.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + SWEEP_EVERY
            self._MemoryStorage__expire_events()
        finally:
            self._sweeping.release()


def storage_uri(configured: str) -> str:
    """The counters' storage: Redis (or any other) as configured; ``memory://`` (this
    process) becomes :class:`QuietMemoryStorage`'s ``rb-memory://``."""
    if configured.split("://", 1)[0] == "memory":
        return MEMORY_URI + configured.split("://", 1)[1]
    return configured


def _day() -> str:
    return clock.now().strftime("%Y%m%d")


def _seconds_left_today(now: datetime) -> int:
    """Seconds until this UTC day's key must be gone (midnight plus the grace)."""
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight + KEY_GRACE - now).total_seconds()))


def _daily_key() -> bytes:
    """Today's HMAC key: shared through Redis when there is one, else per process."""
    day = _day()
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        client = current_app.extensions["rb_redis"]
        name = f"rb:addrkey:{day}"
        client.set(name, secrets.token_hex(32), nx=True, ex=_seconds_left_today(clock.now()))
        value = client.get(name)
        if value:
            return bytes.fromhex(value.decode() if isinstance(value, bytes) else value)
    with _lock:
        key = _local_keys.get(day)
        if key is None:
            _local_keys.clear()  # rotation: yesterday's key is dropped, not kept
            key = _local_keys[day] = secrets.token_bytes(32)
        return key


def client_address() -> str:
    header = current_app.config.get("RB_ADDRESS_HEADER")
    if header:
        return (request.headers.get(header) or "").split(",")[0].strip()
    return request.remote_addr or ""


def address_key() -> str:
    """Flask-Limiter key for "this client address", as a daily-keyed HMAC."""
    digest = hmac.new(_daily_key(), client_address().encode(), hashlib.sha256).hexdigest()
    return "addr:" + digest[:32]


def alias_key() -> str:
    """Flask-Limiter key for "this alias", by skeleton so look-alikes share a bucket."""
    raw = request.form.get("alias", "")
    try:
        return "alias:" + aliases.alias_skeleton(aliases.normalise_alias(raw))
    except Invalid:
        return "alias:invalid"


def limit(config_key: str, *, by_alias: bool = True, address_key_config: str | None = None):
    """Decorator: limit a POST view by alias (unless ``by_alias=False``) and by hashed address.

    The address has its own rate when ``address_key_config`` names one (sign-up: many
    people share an address), else the same. Flask-Limiter counts before the view runs:
    a refused request costs no passphrase check.
    """

    def rate() -> str:
        return current_app.config[config_key]

    def address_rate() -> str:
        return current_app.config[address_key_config or config_key]

    def decorate(view):
        if by_alias:
            view = limiter.limit(
                rate, key_func=alias_key, methods=["POST"], scope=config_key + ":alias"
            )(view)
        return limiter.limit(
            address_rate,
            key_func=address_key,
            methods=["POST"],
            scope=config_key + ":addr",
            exempt_when=lambda: not current_app.config["RB_LIMIT_BY_ADDRESS"],
        )(view)

    return decorate


def hit(rate: str, *parts: object) -> None:
    """Count one event for a key made of ``parts``; raise RateLimited when over.

    For Socket.IO events and services, which Flask-Limiter's request hooks never see.
    """
    if not current_app.config.get("RB_LIMITS_ENABLED", True):
        return
    item = parse(rate)
    strategy = MovingWindowRateLimiter(limiter.storage)
    key = ":".join(str(p) for p in parts)
    # This deployment's counters (RB_LIMIT_KEY_PREFIX): they key on account ids, which
    # another deployment on the same Redis has too.
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]  # forum/config.py
    if not strategy.hit(item, prefix, key):
        stats = strategy.get_window_stats(item, prefix, key)
        wait = int(stats.reset_time - time.time()) + 1
        raise RateLimited(max(1, wait))
