"""Opening SQLite in WAL mode when another process opens the same file at that moment.

SQLite can answer ``PRAGMA journal_mode=WAL`` "database is locked" at once, without the
busy handler: two forked processes opening the key vault together died of it in CI
(tests/test_exactly_once_postgres.py). ``disk.use_wal`` tries again for as long as the
busy timeout; anything else is raised as before.
"""

from __future__ import annotations

import sqlite3

import pytest

from forum import disk


class Cursor:
    """A cursor whose first ``locked`` pragmas fail as SQLite's did."""

    def __init__(self, locked: int, error: str = "database is locked") -> None:
        self.locked, self.error, self.calls = locked, error, []

    def execute(self, sql: str) -> None:
        self.calls.append(sql)
        if len(self.calls) <= self.locked:
            raise sqlite3.OperationalError(self.error)


def test_a_locked_file_is_tried_again_until_wal_is_set():
    cursor = Cursor(locked=3)
    disk.use_wal(cursor)
    assert cursor.calls == ["PRAGMA journal_mode=WAL"] * 4


def test_a_lock_that_outlasts_the_wait_is_raised():
    cursor = Cursor(locked=10_000)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        disk.use_wal(cursor, wait_s=0.05)
    assert 1 < len(cursor.calls) < 10_000


def test_any_other_error_is_raised_at_once():
    cursor = Cursor(locked=1, error="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        disk.use_wal(cursor)
    assert len(cursor.calls) == 1


def test_a_real_file_ends_in_wal(tmp_path):
    connection = sqlite3.connect(tmp_path / "x.db")
    disk.use_wal(connection.cursor())
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()
