"""Search on PostgreSQL deployments (the vault's index): runs in CI, skips locally without PG."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from forum import search
from forum import threads
from forum.extensions import db
from forum.models import Post
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_space
from tests.factories import make_thread

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")

pytestmark = pytest.mark.postgres


def test_postgres_search_isolation_and_hostile_queries(pg_app):
    owner = make_account("Pg.Owner")
    reader = make_account("Pg.Reader")
    outsider = make_account("Pg.Out")
    closed = make_space("closed", owner=owner, name="PG closed")
    add_member(closed, reader)
    t = make_thread(closed, owner, title="Heron meeting", body="pelicanword here")
    gone = make_thread(closed, owner, title="Gone", body="vanishword")
    assert [h.thread_title for h in search.search(reader, "pelicanword").hits] == ["Heron meeting"]
    assert [h.thread_title for h in search.search(reader, "heron").hits] == ["Heron meeting"]
    assert search.search(outsider, "pelicanword").hits == []
    threads.delete_post(
        owner, db.session.scalar(sa.select(Post.id).where(Post.thread_id == gone.id))
    )
    assert search.search(reader, "vanishword").hits == []
    t.hidden_at = t.created_at
    db.session.commit()
    assert search.search(reader, "pelicanword").hits == []
    for query in ['"', "*", "NEAR(", "-", "a & b | !c", "':*", "\\", "😀"]:
        assert isinstance(search.search(reader, query).hits, list)
    # No word of a post is indexed in PostgreSQL (a GIN index would keep it in plain
    # form in index files, WAL and backups): the index is the vault's (forum/search.py).
    indexes = set(
        db.session.scalars(
            sa.text("SELECT indexname FROM pg_indexes WHERE tablename IN ('posts', 'threads')")
        )
    )
    assert not {name for name in indexes if "fts" in name}
