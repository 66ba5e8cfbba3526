"""Which green-thread library, if any, patched this process (the entry points do), and
slots that bound concurrent work the same way under eventlet, gevent or threads."""

from __future__ import annotations

import gc
import sys
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def patched_by() -> str | None:
    """``"eventlet"``, ``"gevent"`` or None.

    Only a process that already imported a library can have been patched by it, so
    neither is imported here (importing eventlet prints its deprecation notice).
    """
    if "eventlet" in sys.modules:
        import eventlet.patcher

        if eventlet.patcher.is_monkey_patched("socket"):
            return "eventlet"
    if "gevent" in sys.modules:
        from gevent import monkey

        if monkey.is_module_patched("socket"):
            return "gevent"
    return None


class Slots:
    """At most ``size`` holders at once; the others wait their turn, with no deadline.

    For work that holds a database connection and may yield to the hub part-way (the
    memory rate limiter starts a green timer; Redis and PostgreSQL calls are network
    waits): bounded below the connection pool, such work queues here, holding nothing,
    instead of taking every connection and making the rest (the sweep included) fail
    after the pool's timeout. Built from ``threading``, so it is green under eventlet or
    gevent (the entry points patch first; build it after) and real in threading mode.
    Re-entrant in one thread or green thread: a handler that disconnects a socket runs
    that socket's disconnect handler inside its own slot.

    Waiters get a slot in the order they came, handed over by the holder that leaves
    (nobody arriving later takes it first), and ``held(first=True)`` waiters before all
    others: a socket's connect and its (re)join, which a client waits on before it sends
    anything, never queue behind other clients' messages (issue #14: after a kill, the
    survivor's queue held 40-50 events, and a join waited 20-60 s behind them).

    ``busy()``: how many hold or wait for a slot, for work that should give way to them
    (the expiry sweep, ``forum/expiry.py``).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"slots must be at least 1, not {size!r}")
        self.size = size
        self._free = size
        self._lock = threading.Lock()
        self._first: deque[threading.Event] = deque()
        self._rest: deque[threading.Event] = deque()
        self._mine = threading.local()
        self._busy = 0

    def busy(self) -> int:
        return self._busy

    def waiting(self) -> int:
        """How many wait for a slot (not counting the holders)."""
        return len(self._first) + len(self._rest)

    @contextmanager
    def held(self, first: bool = False) -> Iterator[None]:
        depth = getattr(self._mine, "depth", 0)
        if depth:
            self._mine.depth = depth + 1
            try:
                yield
            finally:
                self._mine.depth = depth
            return
        with self._lock:
            self._busy += 1
        try:
            self._acquire(first)
            try:
                self._mine.depth = 1
                yield
            finally:
                self._mine.depth = 0
                self._release()
        finally:
            with self._lock:
                self._busy -= 1

    def _acquire(self, first: bool) -> None:
        with self._lock:
            if self._free:  # nobody waits (a slot is handed over, never freed, while some do)
                self._free -= 1
                return
            gate = threading.Event()
            line = self._first if first else self._rest
            line.append(gate)
        try:
            gate.wait()  # set by _release: the slot is ours
        except BaseException:  # killed while waiting: leave the line, or pass the slot on
            with self._lock:
                handed = gate.is_set()
                if not handed:
                    line.remove(gate)
            if handed:
                self._release()
            raise

    def _release(self) -> None:
        with self._lock:
            line = self._first or self._rest
            if line:
                line.popleft().set()  # straight to the next in line: _free stays as it is
            else:
                self._free += 1


def freeze_start_up_heap() -> int:
    """Leave what start-up built out of every later garbage collection; how many objects.

    A full (oldest-generation) collection walks every object the collector tracks, and
    under eventlet or gevent it runs on the hub: no socket event, ack or page is served
    until it ends. After ``create_app`` a process tracks about 156,000 (Flask,
    SQLAlchemy, the app's own), and a full collection of them took 94-211 ms on the
    shared 2-core machine. The expiry sweep allocates (a dict per deleted row) and so
    sets them off: a chat client's acks waited 333 ms behind one during a sweep
    (``bench/expiry.py``, docs/PERFORMANCE.md "Expiry at scale"). ``gc.freeze()`` moves
    them to the permanent generation, never walked again (CPython's advice for servers);
    collecting first keeps the start-up's garbage out of it. Called once per server
    process (``forum.app.server_started``); objects made later are collected as before.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


# Net new container objects between two young collections in a server process (CPython's
# default is 700). See :func:`collect_less_often`.
YOUNG_THRESHOLD = 50_000


def collect_less_often() -> tuple[int, int, int]:
    """Raise the young generation's threshold for a server process; the thresholds set.

    Why: at chat saturation (1,000 sockets in a room) the hub's own churn (a timer for
    every packet queued to every socket, Engine.IO's packets, a send's SQL) set off ~15-20
    young collections a second at CPython's 700, ~1.5 middle ones and a full one (90-136
    ms over the sockets' objects) every few seconds: 5.5-10 % of the server's CPU, time no
    socket was served (docs/PERFORMANCE.md, "Chat at N=1,000"). At 50,000: 2 young
    collections in a minute of saturation, 0.23 CPU-s against 2.5 (the older generations
    count young collections, so they come in proportion).

    The trade-off: garbage held in reference cycles waits longer to be freed, and a young
    collection, when it comes, is as long as the full ones it spares (~110 ms at
    saturation, measured; 10,000 gave 97 ms middle ones at three
    times the CPU). Memory stays bounded, since every generation is still collected: RSS
    rose ~6 MiB over the first minute of saturation, then stayed flat. Called once per
    server process, after :func:`freeze_start_up_heap` (``forum.app.server_started``),
    never for the CLI.
    """
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    return gc.get_threshold()


def pool_capacity(engine: Any) -> int | None:
    """Connections an engine's pool hands out at once (size + overflow); None when its
    pool never makes a caller wait (no overflow limit, NullPool, an in-memory database's
    single connection)."""
    import sqlalchemy as sa

    pool = engine.pool
    if isinstance(pool, sa.pool.QueuePool):
        overflow = pool._max_overflow  # noqa: SLF001 - SQLAlchemy has no public reader
        return None if overflow < 0 else pool.size() + overflow
    return None


# Slots when the pool sets no bound (no overflow limit, NullPool): concurrency is then
# not what makes a caller fail, and this still bounds the work in flight.
UNBOUNDED_POOL_SLOTS = 32


def init_app(app: Any) -> None:
    """``app.extensions["rb_event_slots"]``: the Socket.IO events one process handles at
    once (``RB_EVENT_SLOTS``; 0: half of what the database pool hands out, at least 1),
    so that overload queues there and the other half of the pool stays for pages, the
    sweep and the timers (docs/PERFORMANCE.md, "Expiry at scale")."""
    from forum.extensions import db

    size = int(app.config.get("RB_EVENT_SLOTS") or 0)
    if size <= 0:
        with app.app_context():
            capacity = pool_capacity(db.engine)
        size = max(1, capacity // 2) if capacity else UNBOUNDED_POOL_SLOTS
    app.extensions["rb_event_slots"] = Slots(size)


def green_psycopg() -> bool:
    """Make psycopg 3 wait for PostgreSQL the cooperative way under eventlet; True if it did.

    psycopg chooses how to wait for the server when it is imported: a C ``poll()``
    (``wait_c``) unless it finds gevent's patched ``select``. It does not know eventlet,
    so under eventlet every query held the whole process for its round trip: every other
    request, socket event, websocket write and Engine.IO ping waited on it, and a process
    that took over a killed one's clients fell behind until its pool timed out (issue
    #14). ``wait_select`` calls ``select.select``, which eventlet has made green. The
    module attribute is read at each query, so setting it now covers every connection.
    """
    if patched_by() != "eventlet":
        return False
    # Imported here, not at the top: only a PostgreSQL deployment needs psycopg loaded.
    from psycopg import waiting

    waiting.wait = waiting.wait_select
    return True
