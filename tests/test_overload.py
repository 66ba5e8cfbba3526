"""Overload queues: the event slots, the pool settings, and the sweep that gives way.

The live proof (a real server under each async mode, a pool of 2, eight senders and a sweep) is
tests/test_overload_live.py; these check the pieces in threading mode.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from forum import expiry
from forum.app import ConfigError
from forum.app import create_app
from forum.extensions import db
from forum.greenlets import Slots
from realtime.models import ChatMessage
from tests.support import base_config


@pytest.fixture
def app_config():
    return {"RB_DB_POOL_SIZE": 2, "RB_DB_MAX_OVERFLOW": 0, "RB_DB_POOL_TIMEOUT": 3}


def test_pool_settings_reach_the_engine_and_size_the_event_slots(app):
    pool = db.engine.pool
    assert (pool.size(), pool._max_overflow, pool._timeout) == (2, 0, 3)
    assert app.extensions["rb_event_slots"].size == 1  # half the pool, at least one


def test_event_slots_default_to_half_of_sqlalchemys_pool(tmp_path):
    app = create_app(base_config(tmp_path))
    assert app.extensions["rb_event_slots"].size == 7  # (5 + 10) // 2
    app = create_app(base_config(tmp_path, RB_EVENT_SLOTS=3))
    assert app.extensions["rb_event_slots"].size == 3


@pytest.mark.parametrize(
    "setting", [{"RB_DB_POOL_SIZE": -2}, {"RB_DB_POOL_TIMEOUT": -1}, {"RB_DB_MAX_OVERFLOW": -3}]
)
def test_a_pool_setting_below_its_range_is_refused(tmp_path, setting):
    with pytest.raises(ConfigError):
        create_app(base_config(tmp_path, **setting))


def test_slots_let_size_holders_in_and_queue_the_rest_without_a_deadline():
    slots = Slots(2)
    inside, most, waiting_seen = [0], [0], []
    lock = threading.Lock()
    go = threading.Event()

    def work() -> None:
        go.wait()
        with slots.held():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                waiting_seen.append(slots.busy())
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    workers = [threading.Thread(target=work) for _ in range(6)]
    for worker in workers:
        worker.start()
    go.set()
    for worker in workers:
        worker.join(10)
    assert not any(worker.is_alive() for worker in workers)
    assert most[0] == 2 and len(waiting_seen) == 6
    assert max(waiting_seen) > 2  # busy() counts those waiting as well as those inside
    assert slots.busy() == 0


def test_slots_are_reentrant_in_one_thread():
    slots = Slots(1)
    entered = threading.Event()

    def nested() -> None:
        with slots.held(), slots.held():  # a handler that runs a disconnect handler
            entered.set()

    worker = threading.Thread(target=nested, daemon=True)
    worker.start()
    assert entered.wait(5), "the second, nested hold waited for the first"
    worker.join(5)
    assert slots.busy() == 0
    with slots.held():  # and the slot was given back
        assert slots.busy() == 1


def _queue_up(slots: Slots, names: list[tuple[str, bool]], order: list[str]) -> list:
    """Start one thread per (name, first) in turn, each waiting for a slot (the test holds
    the only one), and only once the one before is in line; each records its turn."""
    threads = []
    for name, first in names:

        def wait_turn(name: str = name, first: bool = first) -> None:
            with slots.held(first=first):
                order.append(name)

        waiting = slots.waiting()
        thread = threading.Thread(target=wait_turn, daemon=True)
        thread.start()
        deadline = time.monotonic() + 5
        while slots.waiting() == waiting and time.monotonic() < deadline:
            time.sleep(0.001)
        threads.append(thread)
    return threads


def test_slots_go_in_the_order_asked_and_connects_and_joins_first():
    """Issue #14: after a kill, a join queued behind 84 events and, with a semaphore
    that let newcomers take a freed slot before the woken waiter, 354 events that came
    after it went first in 63 s while it never did. Now: the holder hands its slot to
    the first in line, and ``first=True`` (connect, join) lines up before the others."""
    slots = Slots(1)
    order: list[str] = []
    with slots.held():
        threads = _queue_up(
            slots,
            [("send 1", False), ("send 2", False), ("join", True), ("send 3", False)],
            order,
        )
        assert slots.waiting() == 4 and slots.busy() == 5
    for thread in threads:
        thread.join(5)
    assert order == ["join", "send 1", "send 2", "send 3"]
    assert slots.busy() == 0 and slots.waiting() == 0


def test_a_waiter_killed_in_line_leaves_it(monkeypatch):
    """A green thread killed while it waits must not be handed a slot nobody gives back."""

    class Exit(BaseException):  # as greenlet.GreenletExit, raised in the wait
        pass

    class Killed(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            raise Exit

    slots = Slots(1)
    raised: list[BaseException] = []

    def wait_in_line() -> None:  # another thread: in this one the hold is re-entrant
        try:
            with slots.held():
                pass
        except Exit as error:
            raised.append(error)

    waiter = threading.Thread(target=wait_in_line)  # made before: a Thread has an Event
    with slots.held():
        monkeypatch.setattr(threading, "Event", Killed)
        waiter.start()
        waiter.join(5)
        monkeypatch.undo()
        assert raised and slots.waiting() == 0 and slots.busy() == 1
    with slots.held():  # the slot came back, once
        assert slots.busy() == 1 and slots.waiting() == 0


@pytest.mark.timeout(60)
def test_an_event_that_disconnects_its_own_socket_keeps_its_slot(
    app, client, lounge, member, clock, socket
):
    """One event slot: the session check finds the session gone and disconnects the
    socket, whose disconnect handler runs inside the event's own slot (no deadlock)."""
    assert app.extensions["rb_event_slots"].size == 1
    sock = socket()
    assert sock.ack("join", {"room_id": lounge.id, "after_seq": 0})["ok"]
    clock.advance(days=app.config["RB_SESSION_IDLE_DAYS"] + 1)
    ack = sock.ack("send", {"room_id": lounge.id, "client_id": "client-1", "body": "x"})
    assert ack["ok"] is False and ack["status"] == 401
    assert not sock.connected
    assert app.extensions["rb_event_slots"].busy() == 0


def _pauses(monkeypatch) -> list[float]:
    asked: list[float] = []

    def sleep(seconds: float) -> None:
        asked.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(expiry.socketio, "sleep", sleep)
    return asked


def test_the_sweep_pauses_as_long_as_its_batch_when_no_event_waits(app, monkeypatch):
    asked = _pauses(monkeypatch)
    expiry.give_way(0.01)
    assert asked == [0.01]


def test_the_sweep_gives_way_to_waiting_events_but_keeps_a_floor(app, monkeypatch):
    """Events busy the whole time: the pause goes on, but stops at SWEEP_SHARE_FLOOR - 1
    batches' time, so the sweep still gets its tenth."""
    asked = _pauses(monkeypatch)
    slots = app.extensions["rb_event_slots"]
    held, release = threading.Event(), threading.Event()

    def event() -> None:
        with slots.held():
            held.set()
            release.wait(10)

    worker = threading.Thread(target=event)
    worker.start()
    try:
        assert held.wait(5)
        started = time.perf_counter()
        expiry.give_way(0.02)
        waited = time.perf_counter() - started
    finally:
        release.set()
        worker.join(5)
    floor = (expiry.SWEEP_SHARE_FLOOR - 1) * 0.02
    assert waited >= floor - 0.001  # it waited for the event...
    assert sum(asked) <= floor + expiry.GIVE_WAY_STEP  # ...and no longer than the floor lets it
    assert asked[0] == 0.02 and len(asked) > 1


def test_the_sweep_resumes_as_soon_as_the_events_are_done(app, monkeypatch):
    asked = _pauses(monkeypatch)
    slots = app.extensions["rb_event_slots"]
    held = threading.Event()

    def event() -> None:
        with slots.held():
            held.set()
            time.sleep(0.05)

    worker = threading.Thread(target=event)
    worker.start()
    assert held.wait(5)
    expiry.give_way(1.0)  # a long batch: the floor would let it wait 9 s
    worker.join(5)
    assert sum(asked) < 2.0  # 1 s as long as the batch, then only until the event ended


def test_a_sweep_with_busy_events_still_deletes_everything(app, lounge, member, clock):
    """The floor in practice: events hold their slot for the whole sweep; it still ends."""
    from realtime import chat

    for n in range(5):
        chat.post_message(member, lounge.id, f"client-{n}", f"message {n}")
    clock.advance(days=31)  # past any chat retention
    slots = app.extensions["rb_event_slots"]
    held, release = threading.Event(), threading.Event()

    def event() -> None:
        with slots.held():
            held.set()
            release.wait(30)

    worker = threading.Thread(target=event)
    worker.start()
    try:
        assert held.wait(5)
        counts = expiry.delete_expired(batch=2)  # three batches, two pauses
    finally:
        release.set()
        worker.join(5)
    assert counts["chat"] == 5
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatMessage)) == 0


def test_a_server_start_leaves_the_start_up_heap_out_of_full_collections(start_as_server):
    """A full garbage collection walks every tracked object on the hub's thread: the
    start-up's ~156,000 cost 94-211 ms, and the sweep's allocations set them off (acks
    waited 500 ms behind one). ``server_started`` freezes them; later objects stay
    collectable."""
    import gc

    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        start_as_server()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # Flask, SQLAlchemy and the app, not a handful
        garbage = [[]]
        garbage[0].append(garbage)  # a cycle made after the start is still collected
        del garbage
        assert gc.collect() >= 1
        assert gc.get_freeze_count() == frozen
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def test_a_server_start_makes_young_collections_rarer_and_keeps_every_generation(
    start_as_server,
):
    """At chat saturation CPython's young threshold (700) set off collections that took
    5.5-10 % of a message's CPU; a server raises it (``greenlets.collect_less_often``).
    Every generation is still collected: a cycle made later is freed by the next one."""
    import gc

    from forum import greenlets

    before = gc.get_threshold()
    gc.unfreeze()
    try:
        start_as_server()
        young, middle, old = gc.get_threshold()
        assert young == greenlets.YOUNG_THRESHOLD > before[0]
        assert (middle, old) == before[1:]
        garbage = [[]]
        garbage[0].append(garbage)
        del garbage
        assert gc.collect(0) >= 1  # the young generation is collected, when it comes
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
