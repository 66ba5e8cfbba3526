"""Automatic expiry: the registry of expiring content and the sweep that hard-deletes it.

Every expiring table registers an ``Expirer`` (forum's posts and threads below;
realtime registers chat in its ``init_app``). ``delete_expired(now)`` walks them in
order and deletes expired rows in bounded batches, one short transaction each, so a
chat message never waits long for the write lock. Each batch is a single
``DELETE ... WHERE id IN (SELECT id ... LIMIT n [FOR UPDATE SKIP LOCKED]) RETURNING``:
claiming and deleting are one statement, so several sweepers (background task in
each worker, the systemd timer) can run at once without errors or double work; the
``RETURNING`` rows are exactly what *this* sweeper deleted.

After each commit ``signals.content_expired`` tells realtime what to remove live.
After a sweep that deleted anything the search index is compacted, then SQLite's
WAL is truncated so deleted text leaves the ``-wal`` file too. ``run_maintenance``
does the periodic upkeep that is not expiring content: forum's dead sessions here,
and whatever other packages connect to ``signals.maintenance_due``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask_babel import format_timedelta
from flask_babel import gettext as _
from markupsafe import Markup
from markupsafe import escape

from forum import clock
from forum import disk
from forum import i18n
from forum import sealed
from forum import search
from forum import sessions
from forum import signals
from forum.extensions import db
from forum.extensions import socketio
from forum.models import Post
from forum.models import Thread

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Expirer:
    """One kind of expiring content.

    ``model``: a mapped class (or a ``sa.Table``) with an integer ``id`` primary key and
    an ``expires_at`` column: rows whose value is ``<= now`` are deleted (NULL = keep).
    ``returning``: columns sent in the ``content_expired`` signal (``id`` always).
    ``where``: replaces the expiry condition (``where(table, now)``), for sweeps such as
    "threads with no posts left".
    ``order``: lower runs first (chat 10, posts 20, threads 30).
    """

    name: str
    model: Any
    returning: tuple[str, ...] = ("id",)
    where: Callable[[sa.Table, datetime], sa.ColumnElement[bool]] | None = None
    order: int = 100

    @property
    def table(self) -> sa.Table:
        return self.model if isinstance(self.model, sa.Table) else self.model.__table__

    def condition(self, now: datetime) -> sa.ColumnElement[bool]:
        table = self.table
        if self.where is not None:
            return self.where(table, now)
        # NULL never matches "<=": kept content is never swept.
        return table.c.expires_at <= now


_registry: dict[str, Expirer] = {}


def register(expirer: Expirer) -> None:
    """Add or replace an expirer by name (apps are built many times in tests)."""
    _registry[expirer.name] = expirer


def unregister(name: str) -> None:
    _registry.pop(name, None)


def expirers() -> list[Expirer]:
    return sorted(_registry.values(), key=lambda e: (e.order, e.name))


def run_maintenance(now: datetime) -> dict[str, int]:
    """Periodic upkeep: dead sessions, then every ``maintenance_due`` receiver.

    Each receiver commits its own work and returns ``{label: count}``; one failing is
    logged (type only) and the rest still run. The background sweeper and
    ``flask expire`` both call this.
    """
    counts = {"expired sessions": sessions.purge_dead_sessions(now)}
    for receiver in signals.maintenance_due.receivers_for(now):
        try:
            counts.update(receiver(now))
        except Exception as error:  # one bad receiver must not stop the others
            db.session.rollback()
            log.error("maintenance %s failed: %s", _name(receiver), type(error).__name__)
    # Maintenance deletes and blanks rows too: their old pages must leave the -wal file
    # and reach the main file, where secure_delete has zeroed them.
    checkpoint()
    return counts


def _name(function: object) -> str:
    return getattr(function, "__name__", "?")


# A thread with no posts for this long is gone (its posts expired or were deleted). The
# grace covers a service that writes a thread and its first post in two transactions.
EMPTY_THREAD_GRACE = timedelta(minutes=1)


def _thread_gone(table: sa.Table, now: datetime) -> sa.ColumnElement[bool]:
    posts = Post.__table__
    has_posts = sa.exists().where(posts.c.thread_id == table.c.id)
    empty = sa.and_(~has_posts, table.c.created_at <= now - EMPTY_THREAD_GRACE)
    return sa.or_(table.c.expires_at <= now, empty)


# Posts run before threads: a post never outlives its thread (retention.post_expires_at
# caps it), so by the time a thread expires its posts are already swept and counted;
# anything left (rows written by older code) goes by the foreign-key cascade.
register(Expirer("posts", Post, returning=("id", "thread_id", "space_id"), order=20))
register(Expirer("threads", Thread, returning=("id", "space_id"), where=_thread_gone, order=30))


def _delete_batch(
    conn: sa.Connection, expirer: Expirer, now: datetime, limit: int
) -> list[dict[str, Any]]:
    table = expirer.table
    claim = (
        sa.select(table.c.id)
        .where(expirer.condition(now))
        .limit(limit)
        # PostgreSQL: concurrent sweepers take disjoint rows. SQLite ignores it (one writer).
        .with_for_update(skip_locked=True)
    )
    columns = [table.c[name] for name in dict.fromkeys(("id", *expirer.returning))]
    stmt = sa.delete(table).where(table.c.id.in_(claim.scalar_subquery())).returning(*columns)
    return [dict(row._mapping) for row in conn.execute(stmt)]


def _payload(rows: list[dict[str, Any]]) -> dict[str, Any]:
    payload: dict[str, Any] = {"ids": [row["id"] for row in rows], "rows": rows}
    if rows and "room_id" in rows[0] and "seq" in rows[0]:
        rooms: dict[int, list[int]] = {}
        for row in rows:
            rooms.setdefault(row["room_id"], []).append(row["seq"])
        payload["rooms"] = rooms
    if rows and "thread_id" in rows[0]:
        payload["threads"] = sorted({row["thread_id"] for row in rows})
    return payload


# A batch's transaction aims at this long (seconds): a chat message waiting for the write
# lock waits about that much. Batches shrink (never below MIN_BATCH rows) or grow (never
# above ``batch``) towards it as the sweep goes.
BATCH_SECONDS = 0.02
MIN_BATCH = 100


# While Socket.IO events hold or wait for a slot, the sweep waits too, but it still gets
# at least 1 / SWEEP_SHARE_FLOOR of the time, so a backlog clears under a steady chat.
SWEEP_SHARE_FLOOR = 10
GIVE_WAY_STEP = 0.005  # seconds between looks at the event slots


def give_way(took: float) -> None:
    """The pause after a batch that took ``took`` seconds: as long again (a writer in
    another process gets SQLite's lock), then on while this process's Socket.IO events
    hold or wait for a slot (``forum/greenlets.py``), up to ``SWEEP_SHARE_FLOOR - 1``
    times the batch in all: the sweep follows the chat instead of taking a fixed half."""
    socketio.sleep(took)
    slots = current_app.extensions.get("rb_event_slots")
    if slots is None:
        return
    until = time.perf_counter() + (SWEEP_SHARE_FLOOR - 2) * took
    while slots.busy() and time.perf_counter() < until:
        socketio.sleep(GIVE_WAY_STEP)


def delete_expired(now: datetime | None = None, batch: int = 1000) -> dict[str, int]:
    """Hard-delete everything expired at ``now``; return rows deleted per kind.

    Safe to run in several processes at once. Raises if the database fails; the
    background loop logs and carries on.

    Other writers get their turn: each batch is sized to take about ``BATCH_SECONDS``,
    and after each the sweep pauses as long as the batch and its receivers took
    (``socketio.sleep``: the hub serves other green threads meanwhile, and a writer in
    another process waiting on SQLite's lock gets it), and longer while this process
    has Socket.IO events to handle (``give_way``), so a sweep of a big backlog takes at
    most half of the write lock's time, a chat message waits about one batch, not the
    whole sweep, and a busy chat still leaves the sweep a tenth of the time.
    """
    now = now or clock.now()
    batch = max(1, int(batch))
    counts: dict[str, int] = {}
    engine = db.engine
    size = batch
    for expirer in expirers():
        counts[expirer.name] = 0
        while True:
            started = time.perf_counter()
            with engine.connect() as conn:
                sqlite = conn.dialect.name == "sqlite"
                if sqlite:
                    disk.relax(conn)  # no fsync per batch: a deletion a power cut undoes is redone
                with conn.begin():
                    if not sqlite:
                        disk.relax(conn)
                    rows = _delete_batch(conn, expirer, now, size)
            if not rows:
                break
            counts[expirer.name] += len(rows)
            signals.content_expired.send(expirer.name, **_payload(rows))
            if len(rows) < size:
                break
            # The batch and what its receivers did (their writes hold the lock too) towards
            # BATCH_SECONDS, at most doubling or halving per batch; then as long a pause.
            took = time.perf_counter() - started
            wanted = int(size * BATCH_SECONDS / max(took, 1e-4))
            size = max(min(MIN_BATCH, batch), min(batch, 2 * size, max(size // 2, wanted)))
            give_way(took)
    if any(counts.values()):
        # Posts left through the FTS triggers; compaction makes their words leave the file.
        try:
            search.compact()
        except Exception as error:  # a failed compaction must not stop the checkpoint
            log.error("search compaction after the sweep failed: %s", type(error).__name__)
        checkpoint()
    # Crypto-shredding: every epoch that has ended lost its last content above (or
    # earlier), so its key goes now; copies of that ciphertext anywhere (PostgreSQL's
    # dead tuples and WAL, backups) can no longer be read (forum/sealed.py).
    shredded = sealed.vault().destroy_ended(now)
    if shredded:
        log.info("expiry: %d epoch keys destroyed", shredded)
    return counts


def checkpoint() -> bool:
    """SQLite: copy the WAL into the database and truncate it. True if it completed."""
    return disk.checkpoint(db.engine)


def vacuum(full: bool = True) -> list[str]:
    """Make deleted rows leave the data files; returns what was done.

    PostgreSQL: ``VACUUM (FULL, ANALYZE)`` on each swept table, one at a time, outside a
    transaction; a table whose lock is not granted within 5 s is skipped (chat keeps
    running) and reported. SQLite: checkpoint, ``VACUUM``, checkpoint.
    """
    engine = db.engine
    done: list[str] = []
    if engine.dialect.name == "sqlite":
        checkpoint()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM")
        checkpoint()
        return ["sqlite: VACUUM and WAL truncated"]
    tables = sorted({e.table.name for e in expirers()})
    option = "FULL, ANALYZE" if full else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("SET lock_timeout = '5s'")
        for name in tables:
            quoted = engine.dialect.identifier_preparer.quote(name)
            try:
                conn.exec_driver_sql(f"VACUUM ({option}) {quoted}")
                done.append(f"{name}: vacuumed")
            except sa.exc.OperationalError:
                done.append(f"{name}: skipped (busy; will run next time)")
        conn.exec_driver_sql("RESET lock_timeout")
    return done


# --- The background sweeper -------------------------------------------------------

_start_lock = threading.Lock()
_started = False


def start_sweeper(app: Flask) -> bool:
    """Start the sweep loop once per process (entry points call this, create_app does not).

    Uses ``socketio.start_background_task``, so it is a green thread under eventlet or
    gevent and a real thread in threading mode. ``RB_SWEEP_INTERVAL`` 0 turns it off.
    """
    global _started  # one loop per process, whatever builds the app
    interval = app.config.get("RB_SWEEP_INTERVAL") or 0
    if interval <= 0:
        return False
    with _start_lock:
        if _started:
            return False
        _started = True
    socketio.start_background_task(sweep_forever, app, interval)
    return True


def sweep_once(app: Flask) -> dict[str, int] | None:
    """One sweep in its own app context; errors are logged (type only, no content)."""
    try:
        with app.app_context():
            try:
                now = clock.now()
                counts = delete_expired(now)
                counts.update(run_maintenance(now))
                return counts
            finally:
                db.session.remove()
    except Exception as error:  # the loop must survive a bad minute
        log.error("expiry sweep failed: %s", type(error).__name__)
        return None


def sweep_forever(app: Flask, interval: float, sleep: Callable[[float], Any] | None = None) -> None:
    """Sweep, sleep ``interval`` seconds, repeat. ``sleep`` is for tests to stop the loop."""
    pause = sleep or socketio.sleep
    while True:
        sweep_once(app)
        pause(interval)


# --- Templates ----------------------------------------------------------------------


# "disappears in": one rule, here for pages and in static/js/expiry.js (``label``) for
# the browser, which keeps labels counting down; a browser test holds them to agree.
# Whole units, rounded down (never more time than is left): minutes under an hour,
# hours under two days, then days. Words and plurals come from CLDR (Babel here,
# Intl.RelativeTimeFormat there), in the page's language.
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def time_left(seconds: float) -> tuple[int, str] | None:
    """(count, unit) to show for ``seconds`` left; None for a minute or less ("a moment")."""
    if seconds <= 60:
        return None
    if seconds < 3600:
        return int(seconds // 60), "minute"
    if seconds < 48 * 3600:
        return int(seconds // 3600), "hour"
    return int(seconds // 86400), "day"


def disappears_in(expires_at: datetime | None, now: datetime | None = None) -> str:
    """ "disappears in 3 hours" / "in 5 days", for pages read without JavaScript."""
    if expires_at is None:
        return ""
    left = time_left((expires_at - (now or clock.now())).total_seconds())
    if left is None:
        return _("disappears in a moment")
    return i18n.same_words("disappears_in", left, lambda: _disappears_in(*left))


def disappears_tag(expires_at: datetime | None) -> Markup:
    """When something will disappear, rendered by the server (no JavaScript needed);
    ``static/js/expiry.js``, where a page loads it, keeps the label up to date. None: this
    space keeps it. A function, not a template macro: a thread page shows one per post,
    and Jinja's macro call cost more than the words."""
    if not expires_at:
        # As a template's _(): the catalogue's words are trusted, not escaped.
        # Our catalogue's words, trusted as a template's _() trusts them.
        words = Markup(_("kept until deleted"))  # nosec B704  # nosemgrep: semgrep.markup-on-user-text
        return Markup('<span class="expires">%s</span>') % words
    left = time_left((expires_at - clock.now()).total_seconds())
    # The title (the date and time, to the minute) and the words for what is left, made
    # and escaped once per request for each minute and count (one lookup, not two).
    minute = expires_at.replace(second=0, microsecond=0)
    title, words = i18n.same_words(
        "disappears_tag", (minute, left), lambda: _title_and_words(expires_at, left)
    )
    # Both texts escaped; isoformat() is digits and "-:+.T".
    return Markup(  # nosec B704  # nosemgrep: semgrep.markup-on-user-text
        f'<span class="expires" data-expires-at="{expires_at.isoformat()}"'
        f' title="{title}">{words}</span>'
    )


def _title_and_words(expires_at: datetime, left: tuple[int, str] | None) -> tuple[str, str]:
    words = _("disappears in a moment") if left is None else _disappears_in(*left)
    return escape(i18n.when(expires_at)), escape(words)


def _disappears_in(count: int, unit: str) -> str:
    # The delta is a whole number of ``unit`` and no other unit reaches the threshold,
    # so Babel only words it (CLDR: "in 3 hours", "in 3 Stunden", "dentro de 3 horas").
    when = format_timedelta(
        timedelta(seconds=count * UNIT_SECONDS[unit]),
        granularity=unit,
        threshold=math.inf,
        add_direction=True,
    )
    return _("disappears %(when)s", when=when)


def init_app(app: Flask) -> None:
    """Register the template filter (the sweeper is started by the entry points)."""
    app.add_template_filter(disappears_in, "disappears_in")
    app.add_template_global(disappears_tag, "disappears")
    # The same, as a filter for rows (``post.expires_at|disappears``): Jinja binds a filter
    # when it compiles the template; a global it calls through the context every time.
    app.add_template_filter(disappears_tag, "disappears")
