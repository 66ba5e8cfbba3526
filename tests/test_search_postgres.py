"""Search on PostgreSQL (GIN + tsvector 'simple'): runs in CI, skips locally without PG."""

from __future__ import annotations

import os
import secrets

import pytest
import sqlalchemy as sa

from forum import schema
from forum import search
from forum import threads
from forum.app import create_app
from forum.extensions import db
from forum.models import Post
from tests.conftest import base_config
from tests.conftest import needs_service
from tests.spacekit import add
from tests.spacekit import make_space
from tests.spacekit import thread

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")

pytestmark = pytest.mark.postgres


def _reachable() -> tuple[bool, str]:
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True, ""
    except Exception as error:  # noqa: BLE001 - any failure means "not here"
        return False, type(error).__name__


@pytest.fixture
def pg_app(tmp_path):  # noqa: ANN001, ANN201
    ok, why = _reachable()
    needs_service("PostgreSQL", ok, why)
    name = "rb_search_" + secrets.token_hex(6)
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    url = sa.engine.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={name}"})
    application = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False)))
    try:
        with application.app_context():
            schema.upgrade_schema()
            yield application
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def test_postgres_search_isolation_and_hostile_queries(pg_app):  # noqa: ANN001
    from forum import accounts  # noqa: PLC0415

    owner = accounts.sign_up("Pg.Owner", "correct horse battery staple", "correct horse battery staple").account
    reader = accounts.sign_up("Pg.Reader", "correct horse battery staple", "correct horse battery staple").account
    outsider = accounts.sign_up("Pg.Out", "correct horse battery staple", "correct horse battery staple").account
    closed = make_space(owner, "closed", name="PG closed")
    add(closed, reader)
    t = thread(owner, closed, title="Heron meeting", body="pelicanword here")
    gone = thread(owner, closed, title="Gone", body="vanishword")
    assert [h.thread_title for h in search.search(reader, "pelicanword").hits] == ["Heron meeting"]
    assert [h.thread_title for h in search.search(reader, "heron").hits] == ["Heron meeting"]
    assert search.search(outsider, "pelicanword").hits == []
    threads.delete_post(owner, db.session.scalar(sa.select(Post.id).where(Post.thread_id == gone.id)))
    assert search.search(reader, "vanishword").hits == []
    t.hidden_at = t.created_at
    db.session.commit()
    assert search.search(reader, "pelicanword").hits == []
    for query in ['"', "*", "NEAR(", "-", "a & b | !c", "':*", "\\", "😀"]:
        assert isinstance(search.search(reader, query).hits, list)
    indexes = set(db.session.scalars(sa.text("SELECT indexname FROM pg_indexes WHERE tablename IN ('posts', 'threads')")))
    assert set(search.SEARCH_INDEXES) <= indexes
