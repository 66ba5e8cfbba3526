"""The two database backends the suite runs on: SQLite always, PostgreSQL as a second pass.

Every test that uses the ``app`` fixture (and every live-server test that asks for a
``backend``) runs once per backend, with ids ``[sqlite]`` and ``[postgresql]``. The
PostgreSQL pass runs when ``TEST_DATABASE_URL`` is set; with ``CI=true`` PostgreSQL must
then answer (``tests/support.py`` ``needs_service``), locally its tests skip without it.
Tests that only make sense on one backend say so: ``@pytest.mark.sqlite_only("why")``
(file scans of the SQLite disk, FTS5 details, SQLite's batch migrations); tests written
for PostgreSQL keep the ``postgres`` marker and their own fixtures and run once.

How a PostgreSQL test gets a fresh database cheaply (docs/TESTING.md measures it): each
test process (each xdist worker) builds one database with the Alembic migrations, the
*template*, and never connects to it again. The in-process tests share one *work* copy of
it (``CREATE DATABASE ... TEMPLATE``) that is emptied before each test: only the tables
that hold rows and the sequences that moved since (found in one query) are deleted and
restarted, with triggers and foreign-key checks off for that connection
(``session_replication_role = replica``). A live server gets a database of its own, made
from the template in about 60 ms. All of them run with ``synchronous_commit = off`` (a
test database need not survive a power cut) and are dropped when the run ends; databases
that a killed run left behind are dropped by the next run (their names carry the pid).

A test module that builds a world once (tests/test_spaces_access.py) builds it on each
backend through :func:`build_template`; on PostgreSQL its rows are kept in a snapshot
schema and put back before each test.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import TEST_DATABASE_URL

# The PostgreSQL pass: on when TEST_DATABASE_URL is set explicitly (not its default in
# tests/support.py). Then, with CI=true, a server that does not answer fails the run.
PG_PASS = bool(os.environ.get("TEST_DATABASE_URL"))
BACKENDS: tuple[str, ...] = ("sqlite", "postgresql") if PG_PASS else ("sqlite",)

# Names of the databases this module makes: a kind, the pid of the run, a random part.
_NAME = re.compile(r"^rb_(?:tmpl|work|live)_(\d+)_[0-9a-f]+$")
_SNAPSHOT = "rb_snapshot"


def _psycopg_url(url: str) -> str:
    return re.sub(r"^postgresql\+psycopg://", "postgresql://", url)


def _connect(url: str):
    import psycopg

    return psycopg.connect(_psycopg_url(url), autocommit=True, connect_timeout=5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Postgres:
    """This process's PostgreSQL databases: one template, one work copy, live copies."""

    def __init__(self, url: str = TEST_DATABASE_URL) -> None:
        self.url = url
        self.base = url.rsplit("/", 1)[0]
        self.admin = _connect(url)  # raises when the server is not there
        self.lock = threading.Lock()
        self.made: list[str] = []
        self.template: str | None = None
        self.template_folder: Path | None = None  # its vault (test.vault.db), if any
        self._work: str | None = None
        self._cleaner = None
        self._tables: list[str] = []
        self._snapshot: str | None = None  # which Template's rows the work database holds
        self._drop_leftovers()

    def url_of(self, name: str) -> str:
        return f"{self.base}/{name}"

    def _name(self, kind: str) -> str:
        return f"rb_{kind}_{os.getpid()}_{secrets.token_hex(4)}"

    def _drop_leftovers(self) -> None:
        """Databases of runs that died before dropping theirs (their pid is gone)."""
        rows = self.admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'rb\\_%'"
        ).fetchall()
        for (name,) in rows:
            match = _NAME.match(name)
            if match and not _alive(int(match.group(1))):
                try:
                    self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except Exception:  # another run is dropping it too
                    pass

    def _create(self, kind: str, template: str | None = None) -> str:
        name = self._name(kind)
        with self.lock:
            source = f' TEMPLATE "{template}"' if template else ""
            self.admin.execute(f'CREATE DATABASE "{name}"{source}')
            # Per-database settings are not copied from a template: set them on each.
            self.admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
            self.made.append(name)
        return name

    def drop(self, name: str) -> None:
        with self.lock:
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if name in self.made:
                self.made.remove(name)

    def close(self) -> None:
        if self._cleaner is not None:
            self._cleaner.close()
            self._cleaner = None
        for name in reversed(list(self.made)):
            try:
                self.drop(name)
            except Exception:  # the server went away: nothing left to drop
                pass
        self.admin.close()
        if self.template_folder is not None:
            shutil.rmtree(self.template_folder, ignore_errors=True)

    # -- the template, built once by the migrations

    def ensure_template(self) -> str:
        if self.template is None:
            from forum import schema
            from forum.app import create_app
            from forum.extensions import db
            from tests.support import base_config

            folder = Path(tempfile.mkdtemp(prefix="rb-pg-template-"))
            name = self._create("tmpl")
            app = create_app(base_config(folder, SQLALCHEMY_DATABASE_URI=self.url_of(name)))
            with app.app_context():
                schema.upgrade_schema()
                db.session.remove()
                db.engine.dispose()
            self.template = name
            self.template_folder = folder
        return self.template

    def fresh(self) -> str:
        """The URL of a new migrated database of its own (a live server's), dropped at
        the end of the run or by :meth:`drop`."""
        return self.url_of(self._create("live", self.ensure_template()))

    # -- the work database, emptied before each in-process test

    def work(self) -> str:
        if self._work is None:
            self._work = self._create("work", self.ensure_template())
            self._cleaner = _connect(self.url_of(self._work))
            self._cleaner.execute("SET session_replication_role = replica")
            self._cleaner.execute("SET lock_timeout = '10s'")
            self._tables = [
                row[0]
                for row in self._cleaner.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            ]
            leftovers = self._dirty()[0]
            assert not leftovers, f"the migrations left rows in {leftovers}"
        return self.url_of(self._work)

    def _dirty(self) -> tuple[list[str], list[str]]:
        """Tables holding rows and sequences that moved: one round trip."""
        exists = " UNION ALL ".join(
            f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM public.\"{t}\")" for t in self._tables
        )
        tables = [row[0] for row in self._cleaner.execute(exists)]
        sequences = [
            row[0]
            for row in self._cleaner.execute(
                "SELECT sequencename FROM pg_sequences "
                "WHERE schemaname = 'public' AND last_value IS NOT NULL"
            )
        ]
        return tables, sequences

    def _strays(self) -> list[str]:
        """Tables a test made itself (``Table.create``): not the migrations', so emptying
        would leave them for the next test (which compares the schema with the models)."""
        return [
            row[0]
            for row in self._cleaner.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version' AND NOT tablename = ANY(%s)",
                (self._tables,),
            )
        ]

    def reset(self, snapshot: Snapshot | None) -> None:
        """Bring the work database back to empty (or to ``snapshot``'s rows)."""
        strays = self._strays()
        if strays:  # dropped first: their sequences go with them
            self._cleaner.execute(
                "; ".join(f'DROP TABLE IF EXISTS public."{t}" CASCADE' for t in strays)
            )
        tables, sequences = self._dirty()
        if snapshot is not None:
            tables = sorted(set(tables) | set(snapshot.tables))
            sequences = sorted(set(sequences) | set(snapshot.sequences))
        statements = [f'DELETE FROM public."{t}"' for t in tables]
        for seq in sequences:
            kept = snapshot.sequences.get(seq) if snapshot is not None else None
            if kept is None:
                statements.append(f'ALTER SEQUENCE public."{seq}" RESTART')
            else:
                statements.append(f"SELECT setval('public.\"{seq}\"', {kept})")
        if snapshot is not None:
            statements += [
                f'INSERT INTO public."{t}" SELECT * FROM {snapshot.schema}."{t}"'
                for t in snapshot.tables
            ]
        if statements:
            self._cleaner.execute("; ".join(statements))

    def take_snapshot(self) -> Snapshot:
        """Keep the work database's rows (a module's world) to put back before each test."""
        tables, sequences = self._dirty()
        schema = f"{_SNAPSHOT}_{secrets.token_hex(4)}"
        statements = [f'CREATE SCHEMA "{schema}"']
        statements += [
            f'CREATE TABLE "{schema}"."{t}" AS SELECT * FROM public."{t}"' for t in tables
        ]
        self._cleaner.execute("; ".join(statements))
        values = {}
        for seq in sequences:
            values[seq] = self._cleaner.execute(
                f'SELECT last_value FROM public."{seq}"'
            ).fetchone()[0]
        return Snapshot(schema, tables, values)


@dataclass
class Snapshot:
    schema: str
    tables: list[str]
    sequences: dict[str, int]


_postgres: Postgres | None = None
_postgres_error: str | None = None


def postgres() -> Postgres:
    """This process's :class:`Postgres`, made on first use; skips (fails in CI) when the
    server is not reachable."""
    global _postgres, _postgres_error
    from tests.support import needs_service

    if _postgres is None and _postgres_error is None:
        try:
            _postgres = Postgres()
        except Exception as error:
            _postgres_error = f"{type(error).__name__}: {error}"
        else:
            atexit.register(close)
    needs_service("PostgreSQL", _postgres is not None, _postgres_error or "")
    return _postgres


def close() -> None:
    """Drop this process's databases (the end of the run)."""
    global _postgres
    if _postgres is not None:
        _postgres.close()
        _postgres = None


# --- what a test's database starts as ---------------------------------------------------


@dataclass
class Template:
    """What each test's database starts as, on one backend: an SQLite file (``folder /
    'test.db'``) or, on PostgreSQL, the work database emptied (or set to ``snapshot``).
    Either way the vault (``folder / 'test.vault.db'``: keys and search index) is copied."""

    backend: str
    folder: Path
    snapshot: Snapshot | None = None

    def prepare(self, tmp: Path) -> dict[str, Any]:
        """Lay this template out for one test in ``tmp``; the configuration to use."""
        vault = self.folder / "test.vault.db"
        if vault.exists():
            shutil.copy(vault, tmp / "test.vault.db")
        if self.backend == "sqlite":
            shutil.copy(self.folder / "test.db", tmp / "test.db")
            return {}
        pg = postgres()
        url = pg.work()
        pg.reset(self.snapshot)
        return {"SQLALCHEMY_DATABASE_URI": url}


def empty_template(backend: str, sqlite_template: Path) -> Template:
    """The migrated, empty database: ``sqlite_template`` (built once per run) on SQLite,
    the work database emptied on PostgreSQL."""
    if backend == "sqlite":
        return Template("sqlite", sqlite_template.parent)
    pg = postgres()
    pg.ensure_template()
    return Template("postgresql", pg.template_folder)


def build_template(
    backend: str, folder: Path, build: Callable[[], Any], **config: Any
) -> tuple[Template, Any]:
    """A template holding a world: ``build()`` runs once in an app context on a migrated
    database of ``backend`` (configuration ``config``); each test then starts from its
    rows. Returns the template and what ``build()`` returned."""
    from forum import schema
    from forum.app import create_app
    from forum.extensions import db
    from tests.support import base_config

    extra: dict[str, Any] = {}
    if backend == "postgresql":
        pg = postgres()
        extra["SQLALCHEMY_DATABASE_URI"] = pg.work()
        pg.reset(None)
    application = create_app(base_config(folder, **{**config, **extra}))
    with application.app_context():
        schema.upgrade_schema()
        built = build()
        db.session.remove()
        db.engine.dispose()
    snapshot = postgres().take_snapshot() if backend == "postgresql" else None
    return Template(backend, folder, snapshot), built
