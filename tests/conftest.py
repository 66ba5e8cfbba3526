"""Shared fixtures. No test module imports this file: helpers are in ``tests/support.py``,
objects come from ``tests/factories.py``.

app · client · runner · clock · make_account · socket · person · personas (member,
moderator, fred) · space · lounge (its room) · backend / db_template · pg_url / pg_app ·
redis_url.

Every test gets its own database, as the Alembic migrations built it once per run: on
SQLite a copy of a template file, on PostgreSQL a database emptied before the test. A
test that uses ``app`` (or asks for ``backend``) runs on SQLite, and on PostgreSQL too
when ``TEST_DATABASE_URL`` is set or ``CI=true`` (tests/backends.py; docs/TESTING.md).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from collections.abc import Iterator
from datetime import datetime
from datetime import timezone
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from forum import clock as clock_module
from forum import schema
from forum.app import create_app
from forum.extensions import db
from forum.models import Account
from forum.models import Space
from realtime.models import ChatRoom
from tests import backends
from tests import factories
from tests.support import CHROMIUM
from tests.support import TEST_DATABASE_URL
from tests.support import TEST_REDIS_URL
from tests.support import FrozenClock
from tests.support import InBrowser
from tests.support import IsolatedClient
from tests.support import Sock
from tests.support import base_config
from tests.support import login
from tests.support import needs_service
from tests.support import reachable
from tests.support import signed_in

_counter = count(1)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that needs a ``backend`` (the ``app`` fixture does) runs on each one in
    ``backends.BACKENDS``, grouped per module; ``sqlite_only("why")`` keeps it on SQLite."""
    if "backend" not in metafunc.fixturenames:
        return
    kinds = backends.BACKENDS
    only = metafunc.definition.get_closest_marker("sqlite_only")
    if only is not None:
        assert only.args, f"{metafunc.definition.nodeid}: sqlite_only needs its reason"
        kinds = ("sqlite",)
    metafunc.parametrize("backend", kinds, indirect=True, scope="module")


def pytest_sessionfinish(session: pytest.Session) -> None:
    backends.close()  # drop this process's PostgreSQL databases


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests start a real server too: ``-m "not server"`` leaves them out as well."""
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.server)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file built once by the migrations."""
    folder = tmp_path_factory.mktemp("template")
    app = create_app(base_config(folder))
    with app.app_context():
        schema.upgrade_schema()
        db.engine.dispose()
    return folder / "test.db"


@pytest.fixture(scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    """ "sqlite" or "postgresql": the database this test runs on (pytest_generate_tests)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="module")
def db_template(backend: str, template_db: Path) -> backends.Template:
    """What each test's database starts as: migrated and empty. A module that builds a
    world once overrides this with ``backends.build_template``."""
    return backends.empty_template(backend, template_db)


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override in a test module to change the configuration."""
    return {}


@pytest.fixture
def app(
    tmp_path: Path, db_template: backends.Template, app_config: dict[str, Any]
) -> Iterator[Flask]:
    """The test app on a database of its own, context pushed (its keys too: the vault,
    ``test.vault.db``, is copied from the template's)."""
    database = db_template.prepare(tmp_path)
    application = create_app(base_config(tmp_path, **database, **app_config))
    application.test_client_class = IsolatedClient
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    frozen = FrozenClock(datetime.now(timezone.utc).replace(microsecond=0))
    monkeypatch.setattr(clock_module, "now", frozen.now)
    return frozen


@pytest.fixture
def make_account(app: Flask) -> Callable[..., Account]:
    """``make_account(alias=None, admin=False, ...)`` -> Account (tests/factories.py)."""
    return factories.make_account


@pytest.fixture
def start_as_server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """``start_as_server()``: ``server_started(app)`` as a server process runs it, less
    its keep-alive loop (a thread that would outlive the test and its database, printing
    "socket keep-alive failed" at every round); the collector's settings and freeze,
    which a server start changes, are put back after the test."""
    import gc

    import realtime
    from forum.app import server_started

    monkeypatch.setattr(realtime, "_keep_alive_forever", lambda _app: None)
    thresholds = gc.get_threshold()
    yield lambda: server_started(app)
    gc.set_threshold(*thresholds)
    gc.unfreeze()


@pytest.fixture
def socket(app: Flask, client: FlaskClient) -> Callable[..., Sock]:
    """``socket(client=None, headers=None, auth=None)`` -> a Socket.IO test client on /chat
    that shares the cookies of ``client`` (the fixture's signed-in client when None);
    ``auth``: the handshake's (``{room_id, after_seq}`` joins at connect)."""

    def connect(
        other: FlaskClient | None = None,
        headers: dict[str, str] | None = None,
        auth: dict | None = None,
    ) -> Sock:
        return Sock(app, other or client, headers, auth)

    return connect


# --- personas -------------------------------------------------------------------------


@pytest.fixture
def member(make_account, client):
    """Amara, a signed-in ordinary member (the ``client`` is logged in as her)."""
    account = make_account("Amara")
    login(client, "Amara")
    return account


@pytest.fixture
def person(app: Flask) -> Callable[..., tuple[Account, FlaskClient]]:
    """``person(alias, *spaces, role="member")`` -> (account, a test client of their own,
    signed in): someone else in the room, with their own browser."""

    def make(alias: str, *spaces: Space, role: str = "member") -> tuple[Account, FlaskClient]:
        account = factories.make_account(alias)
        for joined in spaces:
            factories.add_member(joined, account, role)
        return account, signed_in(app, alias)

    return make


@pytest.fixture
def fred(make_account):
    """Fred, an interloper with bad intentions. Our job is to stop Fred."""
    return make_account("Fred")


@pytest.fixture
def space(member: Account) -> Space:
    """The open space "lounge", where the signed-in ``member`` shows as "Amara-here"."""
    made = factories.make_space("open", name="Lounge", slug="lounge")
    factories.add_member(made, member, space_alias="Amara-here")
    return made


@pytest.fixture
def moderator(make_account, space: Space) -> Account:
    """Mina, a moderator of ``space``."""
    account = make_account("Mina")
    factories.add_member(space, account, role="moderator")
    return account


@pytest.fixture
def lounge(space: Space) -> ChatRoom:
    """The chat room of ``space`` (its "General")."""
    return factories.make_room(space)


# --- scale-out services: PostgreSQL and Redis -----------------------------------------


def _pg_admin_connect():
    import psycopg

    url = TEST_DATABASE_URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True, connect_timeout=3)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    try:
        admin = _pg_admin_connect()
    except Exception as exc:
        needs_service("PostgreSQL", False, str(exc))
    name = f"rb_test_{secrets.token_hex(6)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = TEST_DATABASE_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_app(tmp_path: Path) -> Iterator[Flask]:
    """The test app on PostgreSQL, in a schema of its own built by the migrations."""
    admin = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")

    def probe() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    ok, why = reachable(probe)
    needs_service("PostgreSQL", ok, why)
    name = f"rb_test_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    options = {"connect_args": {"options": f"-csearch_path={name}"}}
    application = create_app(
        base_config(
            tmp_path, SQLALCHEMY_DATABASE_URI=TEST_DATABASE_URL, SQLALCHEMY_ENGINE_OPTIONS=options
        )
    )
    application.test_client_class = IsolatedClient
    try:
        with application.app_context():
            schema.upgrade_schema()
            yield application
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    """The test Redis, checked reachable; tests use their own key prefixes."""

    def probe() -> None:
        import redis

        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()

    ok, why = reachable(probe)
    needs_service("Redis", ok, why)
    return TEST_REDIS_URL


@pytest.fixture
def in_browser() -> InBrowser:
    """A tab in Debian's Chromium for a script under test (tests/test_*_js.py)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        needs_service("Playwright", False, "not installed")
    needs_service("Chromium", os.path.exists(CHROMIUM), CHROMIUM)
    return InBrowser()
