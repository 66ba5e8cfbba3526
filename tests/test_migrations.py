"""The migrations build exactly the models' schema (plus the search objects of 0002)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from forum import sealed
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
    """The search queue and its triggers are in the database; the index is in the vault,
    and no FTS5 table over sealed text is left in the database."""
    names = set(
        db.session.scalars(
            sa.text("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        )
    )
    assert {"search_gone", "posts_search_gone", "threads_search_gone"} <= names
    assert not {name for name in names if "_fts" in name}
    with sealed.vault().connect() as index:
        vault_tables = set(
            index.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars()
        )
    assert {"seal_keys", "search_fts"} <= vault_tables
