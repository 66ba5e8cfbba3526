"""The migrations build exactly the models' schema (plus the search objects of 0002)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from forum import search
from forum.extensions import db


def test_upgrade_from_empty_matches_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_name": search.include_name, "compare_type": True}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_search_objects_exist_on_sqlite(app):
    names = set(
        db.session.scalars(
            sa.text("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        )
    )
    assert {
        "posts_fts",
        "threads_fts",
        "posts_fts_ai",
        "posts_fts_ad",
        "posts_fts_au",
        "threads_fts_au",
    } <= names
