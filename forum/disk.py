"""Which SQLite the app links, so that deleted text can leave the disk.

FTS5 (the search index) keeps deleted words in its segments until they are merged,
unless its ``secure-delete`` option is on; that option needs SQLite 3.42 or newer.
Python's own ``sqlite3`` links the system library (3.40 on Debian 12), so when the
``pysqlite3-binary`` wheel is installed (a pyproject dependency on Linux x86-64;
it bundles a current SQLite) the app uses it through SQLAlchemy's ``module=``
option. Without it the app still runs on the system SQLite and falls back to
merging the index after every deletion (``search.forget``), which also removes
the words but costs a rewrite of the index each time.

The wheel's ``secure_delete`` pragma defaults to OFF (Debian's to ON): the app
sets it on every connection either way and refuses a connection where it did not
stick (``forum/app.py``).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import sqlalchemy as sa

try:  # a current SQLite, bundled (pyproject: pysqlite3-binary)
    from pysqlite3 import dbapi2 as _bundled
except ImportError:  # pragma: no cover - depends on the platform
    _bundled = None

log = logging.getLogger(__name__)

# How long a connection waits for another's write lock (set on every connection).
BUSY_TIMEOUT_MS = 10_000

# SQLite's synchronous level on every connection (RB_SQLITE_SYNCHRONOUS, set by the
# factory). FULL: each commit syncs the WAL before it returns, so a commit survives a
# killed process and a power loss. NORMAL (WAL mode): no sync at commit, only at
# checkpoints; a killed process loses nothing committed (the WAL is in the OS cache), a
# power loss or OS crash may lose the last commits (never corrupts). Chat messages
# commit at NORMAL whatever this says (no_fsync_on_sqlite, docs/REALTIME.md).
SYNCHRONOUS_LEVELS = ("FULL", "NORMAL")
synchronous = "FULL"

# FTS5's secure-delete option first shipped in SQLite 3.42.0.
FTS5_SECURE_DELETE_SINCE = (3, 42, 0)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3])


def sqlite_module() -> ModuleType:
    """The DB-API module with the newer SQLite: the bundled one when installed."""
    if _bundled is not None and _version(_bundled.sqlite_version) >= _version(
        sqlite3.sqlite_version
    ):
        return _bundled
    return sqlite3


def connection_types() -> tuple[type, ...]:
    """Every DB-API connection class that is an SQLite connection here."""
    return (sqlite3.Connection,) if _bundled is None else (sqlite3.Connection, _bundled.Connection)


def use_wal(cursor: Any, wait_s: float = BUSY_TIMEOUT_MS / 1000) -> None:
    """``PRAGMA journal_mode=WAL`` on a new connection, tried again while the file is locked.

    SQLite can answer this pragma "database is locked" at once, without calling the busy
    handler ``busy_timeout`` set, while a connection in another process is opening the
    same file (seen: two forked sweepers opening the key vault together). Any other
    error, or a lock that outlasts ``wait_s``, is raised as before.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except (sqlite3.OperationalError, *_bundled_errors()) as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
        time.sleep(0.01)


def _bundled_errors() -> tuple[type[Exception], ...]:
    return () if _bundled is None else (_bundled.OperationalError,)


def version_of(dbapi_connection: Any) -> tuple[int, ...]:
    """The SQLite library version behind a DB-API connection."""
    return _version(dbapi_connection.execute("SELECT sqlite_version()").fetchone()[0])


def has_fts5_secure_delete(dbapi_connection: Any) -> bool:
    """Whether this connection's SQLite has FTS5's secure-delete option."""
    return version_of(dbapi_connection) >= FTS5_SECURE_DELETE_SINCE


def checkpoint(engine: sa.Engine) -> bool:
    """SQLite: copy the WAL into the main file and truncate it. True if it completed.

    Deleted text must leave the ``-wal`` file, and the main file must get the
    pages where ``secure_delete`` zeroed it. The checkpoint does not wait for
    readers (busy timeout 0): under green threads a wait would block the very
    readers it waits for. If one holds the WAL, the background sweep (every
    minute) tries again. Other databases: nothing to do, True.
    """
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA busy_timeout=0")
        try:
            busy, _log, _done = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        except sa.exc.OperationalError:  # another writer holds the lock
            busy = 1
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if busy:
        log.warning(
            "WAL checkpoint postponed (a reader or writer held the WAL); the next sweep retries"
        )
    return not busy


# --- writes that need not wait for the disk ------------------------------------------

_RESTORE_SYNC = "rb_restore_synchronous"


@contextmanager
def unsynced(session: Any) -> Iterator[None]:
    """Run a write whose rows mean nothing after a crash without waiting for the disk.

    For the live-socket registry (``realtime/sockets.py``: rows cleared when a server
    starts, rebuilt by the clients' reconnects) and a follower's read position (the
    thread page: lost, a few replies show as new again), never for content: posts and accounts
    keep the connection's ``synchronous`` level (chat messages: :func:`no_fsync_on_sqlite`,
    which keeps PostgreSQL's ``synchronous_commit`` on). SQLite: ``synchronous=NORMAL``
    for this transaction only (WAL mode: no fsync at its commit; the next synced commit
    or checkpoint syncs its frames too; a power loss may roll back such a transaction,
    never corrupt the file); the level in force is put back when the connection returns to the pool.
    PostgreSQL: ``SET LOCAL synchronous_commit = off``, the same idea built in.

    SQLite refuses to change the level inside an open transaction: the block must
    start the transaction (callers commit before it). If one is already open the
    write simply stays synced.
    """
    relax(session.connection())
    yield


def relax(connection: sa.Connection) -> None:
    """:func:`unsynced` for a Core connection: its transaction commits without waiting
    for the disk (SQLite: call it before the transaction begins; PostgreSQL: inside it).
    The level in force comes back when the connection returns to the pool. Also for
    deletions that may be redone: the expiry sweep's batches (a batch that a power cut
    rolls back is still due, and the next sweep deletes it)."""
    name = connection.dialect.name
    if name == "sqlite":
        proxied = connection.connection
        raw = proxied.dbapi_connection
        if not raw.in_transaction:
            if _RESTORE_SYNC not in proxied.info:
                proxied.info[_RESTORE_SYNC] = raw.execute("PRAGMA synchronous").fetchone()[0]
            raw.execute("PRAGMA synchronous=NORMAL")
    elif name == "postgresql":
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")


def no_fsync_on_sqlite(session: Any) -> None:
    """Let this transaction commit without an fsync on SQLite only: for content that
    must survive a killed process but not necessarily a power loss (chat messages,
    ``realtime/chat.py``). Call it before the transaction's first write.

    SQLite in WAL mode at ``synchronous=NORMAL``: the commit writes its frames to the
    WAL (the OS holds them) before it returns, so a process killed right after the ack
    loses nothing; a power loss or OS crash may roll back the last such commits (never
    corrupts the file); the next checkpoint syncs them. ``RB_SQLITE_SYNCHRONOUS=FULL``
    stays in force for every other write. PostgreSQL: unchanged (``synchronous_commit``
    stays on): there the database is another process, and with it off a crash of that
    server would lose commits already acknowledged.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        relax(connection)


@sa.event.listens_for(sa.pool.Pool, "checkin")
def _restore_synchronous(dbapi_connection: Any, record: Any) -> None:
    level = record.info.pop(_RESTORE_SYNC, None) if record is not None else None
    if level is not None and dbapi_connection is not None:
        dbapi_connection.execute(f"PRAGMA synchronous={int(level)}")
