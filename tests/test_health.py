"""``/healthz`` for load balancers: up or down, and nothing about anyone."""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa

from forum import schema
from forum.app import create_app
from forum.extensions import db
from forum.models import AuthSession
from tests.support import IsolatedClient
from tests.support import base_config
from tests.support import post


def test_says_ok_and_nothing_else(app, client, member):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert response.mimetype == "text/plain"
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    head = client.head("/healthz")
    assert head.status_code == 200 and "Set-Cookie" not in head.headers


def test_reads_and_refreshes_no_session(app, client, member, clock):
    """A checker that happens to send a member's cookie neither uses nor keeps it alive."""

    def last_seen():
        db.session.rollback()  # a fresh read: the requests commit on their own connections
        return db.session.scalar(sa.select(sa.func.max(AuthSession.last_seen_at)))

    db.session.execute(sa.update(AuthSession).values(last_seen_at=last_seen() - timedelta(days=3)))
    db.session.commit()
    before = last_seen()
    assert client.get("/healthz").status_code == 200
    assert last_seen() == before
    assert client.get("/account").status_code == 200  # positive control: a page refreshes it
    assert last_seen() > before


def test_is_not_rate_limited_and_needs_no_csrf_token(app, client):
    for _ in range(150):  # a checker polling every second for minutes, from loopback
        assert client.get("/healthz").status_code == 200
    assert client.get("/healthz", headers={"X-RB-Client-Address": "203.0.113.9"}).status_code == 200
    # Nothing to write: a POST is "method not allowed", never a CSRF page or a 500.
    assert client.post("/healthz").status_code == 405
    assert post(client, "/healthz", {}).status_code == 405


def test_says_unavailable_when_the_database_does_not_answer(tmp_path):
    missing = tmp_path / "no-such-folder" / "redbrolly.db"
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{missing}"))
    app.test_client_class = IsolatedClient
    with app.app_context():
        response = app.test_client().get("/healthz")
        db.engine.dispose()
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "unavailable\n"


def test_says_unavailable_before_the_migrations_ran(tmp_path):
    app = create_app(base_config(tmp_path))  # an empty SQLite file
    app.test_client_class = IsolatedClient
    with app.app_context():
        assert app.test_client().get("/healthz").status_code == 503
        schema.upgrade_schema()
        assert app.test_client().get("/healthz").status_code == 200
        db.engine.dispose()


def test_on_postgresql_up_and_down(pg_url, tmp_path):
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        schema.upgrade_schema()
        assert app.test_client().get("/healthz").status_code == 200
        db.session.remove()
        db.engine.dispose()
    gone = pg_url.rsplit("/", 1)[0] + f"/rb_missing_{secrets.token_hex(4)}"
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=gone))
    app.test_client_class = IsolatedClient
    with app.app_context():
        response = app.test_client().get("/healthz")
        db.engine.dispose()
    assert response.status_code == 503 and response.get_data(as_text=True) == "unavailable\n"
