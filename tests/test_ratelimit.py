"""The rate limiter's counters in this process (forum/ratelimit.py QuietMemoryStorage).

limits' memory storage started a ``threading.Timer`` at the first write after every
10 ms without one: a thread per chat message on a busy server, and a yield to the hub
in the middle of the send under eventlet. These tests hold that no write starts a
thread, that the expired entries still go (memory stays bounded), that the answers
are limits' own, and that Redis stays what it was.
"""

from __future__ import annotations

import threading
import time

import pytest
from limits.storage import RedisStorage
from limits.storage import memory as limits_memory
from limits.storage import storage_from_string

from forum import ratelimit
from forum.errors import RateLimited
from forum.extensions import limiter


@pytest.fixture
def threads_started(monkeypatch) -> list[threading.Thread]:
    started: list[threading.Thread] = []
    original = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        started.append(thread)
        original(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    return started


def test_the_app_counts_in_the_quiet_storage(app):
    assert app.config["RATELIMIT_STORAGE_URI"] == ratelimit.MEMORY_URI
    assert isinstance(limiter.storage, ratelimit.QuietMemoryStorage)


def test_a_hit_after_a_quiet_gap_starts_no_thread(app, threads_started):
    """Before: each of these hits (after 20 ms without one) started a Timer."""
    for i in range(5):
        time.sleep(0.02)
        ratelimit.hit("100 per minute", "quiet", i % 2)
    assert threads_started == []


def test_limits_hold_as_before(app):
    for _ in range(3):
        ratelimit.hit("3 per minute", "held", 1)
    with pytest.raises(RateLimited) as refused:
        ratelimit.hit("3 per minute", "held", 1)
    assert 1 <= refused.value.retry_after <= 61
    ratelimit.hit("3 per minute", "held", 2)  # another key counts on its own


def test_expired_entries_are_still_swept(app, monkeypatch, threads_started):
    """The housekeeping the timer did happens inline, at most every SWEEP_EVERY seconds:
    a key whose window has passed is dropped, one still inside it is kept."""
    storage = limiter.storage
    ratelimit.hit("2 per minute", "old", 1)
    ratelimit.hit("2 per hour", "young", 1)
    assert len(storage.events) == 2

    class Later:  # limits' clock, two minutes on
        @staticmethod
        def time() -> float:
            return time.time() + 120

    monkeypatch.setattr(limits_memory, "time", Later)
    storage._next_sweep = 0.0  # the sweep is due
    ratelimit.hit("2 per hour", "another", 1)
    # limits' sweep empties a key's entries (the key itself stays, as with its timer).
    assert [len(v) for k, v in storage.events.items() if "old" in k] == [0]
    assert [len(v) for k, v in storage.events.items() if "young" in k] == [1]
    assert threads_started == []


def test_redis_and_other_storages_are_kept(app):
    assert ratelimit.storage_uri("redis://localhost:6379/0") == "redis://localhost:6379/0"
    assert ratelimit.storage_uri("memory://") == ratelimit.MEMORY_URI
    assert isinstance(
        storage_from_string(ratelimit.storage_uri("redis://localhost:6379/0")),
        RedisStorage,
    )
