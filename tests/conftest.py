"""Shared fixtures: app · client · runner · clock · make_account · login · post.

Every test gets its own SQLite file, copied from a template that the Alembic
migrations built once per run, so the migrations are what the tests exercise.
"""

from __future__ import annotations

import contextvars
import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum import accounts
from forum import clock as clock_module
from forum.app import create_app
from forum.extensions import db
from forum.models import Account

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSPHRASE = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def base_config(tmp: Path, **extra: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "RB_IDENTIFIER_KEY": "test-identifier-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'test.db'}",
        "RB_ASYNC_MODE": "threading",
        "RB_PUBLIC_ORIGIN": "http://localhost",
        "RB_SWEEP_INTERVAL": 0,
        "REDIS_URL": None,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Cheap argon2 for speed; production parameters are tested on their own.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 8,
        "ARGON2_PARALLELISM": 1,
    }
    config.update(extra)
    return config


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file built once by the migrations."""
    folder = tmp_path_factory.mktemp("template")
    app = create_app(base_config(folder))
    with app.app_context():
        from forum import schema  # noqa: PLC0415

        schema.upgrade_schema()
        db.engine.dispose()
    return folder / "test.db"


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Override in a test module to change the configuration."""
    return {}


class IsolatedClient(FlaskClient):
    """Runs each request in an empty context, as a server would.

    The ``app`` fixture keeps an app context pushed for the test's own database
    work; without this, Flask would reuse it for every request, sharing ``g`` (and
    the database session) between requests in a way production never does.
    """

    def open(self, *args: Any, **kwargs: Any):  # noqa: ANN201
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app(tmp_path: Path, template_db: Path, app_config: dict[str, Any]) -> Iterator[Flask]:
    shutil.copy(template_db, tmp_path / "test.db")
    application = create_app(base_config(tmp_path, **app_config))
    application.test_client_class = IsolatedClient
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # noqa: ANN201
    return app.test_cli_runner()


class FrozenClock:
    """A clock that stands still until told to move."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, when: datetime) -> None:
        self.current = when


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    frozen = FrozenClock(datetime.now(timezone.utc).replace(microsecond=0))
    monkeypatch.setattr(clock_module, "now", frozen.now)
    return frozen


_counter = iter(range(1, 10**9))


@pytest.fixture
def make_account(app: Flask):  # noqa: ANN201
    """Factory: ``make_account(alias=None, admin=False)`` -> Account (committed)."""

    def make(alias: str | None = None, *, admin: bool = False, passphrase: str = PASSPHRASE) -> Account:
        alias = alias or f"peer{next(_counter)}"
        result = accounts.sign_up(alias, passphrase, passphrase)
        result.account.is_admin = admin
        db.session.commit()
        return result.account

    return make


def csrf_token(client: FlaskClient, path: str = "/signup", **kwargs: Any) -> str:
    """The CSRF token a real form on ``path`` would carry."""
    page = client.get(path, **kwargs).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any):  # noqa: ANN201
    """POST a form the way a browser would: with the page's CSRF token."""
    passthrough = {k: v for k, v in kwargs.items() if k in ("base_url", "environ_base")}
    form = {"csrf_token": csrf_token(client, **passthrough)}
    form.update(data or {})
    return client.post(path, data=form, **kwargs)


def login(client: FlaskClient, alias: str, passphrase: str = PASSPHRASE, **kwargs: Any):  # noqa: ANN201
    response = post(client, "/login", {"alias": alias, "passphrase": passphrase}, **kwargs)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def member(make_account, client):  # noqa: ANN001, ANN201
    """A signed-in ordinary member (the client is logged in as them)."""
    account = make_account("Amara")
    login(client, "Amara")
    return account


@pytest.fixture
def fred(make_account):  # noqa: ANN001, ANN201
    """Fred, an interloper with bad intentions. Our job is to stop Fred."""
    return make_account("Fred")


def needs_service(name: str, available: bool, why: str) -> None:
    """Skip locally when a service is missing; fail in CI, where it must be there."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{name} is required in CI but unavailable: {why}")
    pytest.skip(f"{name} unavailable: {why}")


# --- Scale-out services: PostgreSQL and Redis ----------------------------------

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _pg_admin_connect():  # noqa: ANN202
    import psycopg  # noqa: PLC0415

    url = TEST_DATABASE_URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True, connect_timeout=3)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    try:
        admin = _pg_admin_connect()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        needs_service("PostgreSQL", False, str(exc))
    name = f"rb_test_{os.getpid()}_{next(_counter)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = TEST_DATABASE_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def redis_url() -> str:
    """The test Redis, checked reachable; tests use their own key prefixes."""
    try:
        import redis  # noqa: PLC0415

        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        needs_service("Redis", False, str(exc))
    return TEST_REDIS_URL
