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


def test_search_objects_exist(app, backend):
    """The search queue and its triggers are in the database; the index is in the vault,
    and no FTS5 table over sealed text is left in the database."""
    if backend == "sqlite":
        found = "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"
    else:
        found = (
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "UNION SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        )
    names = set(db.session.scalars(sa.text(found)))
    assert {"search_gone", "posts_search_gone", "threads_search_gone"} <= names
    assert not {name for name in names if "_fts" in name}
    with sealed.vault().connect() as index:
        vault_tables = set(
            index.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars()
        )
    assert {"seal_keys", "search_fts"} <= vault_tables


# How many recent migrations the round trip walks back: every one since the sealing
# migrations (0013-0015 re-encrypt text, their downgrades are tested in tests/test_sealed.py).
ROUND_TRIP_STEPS = 3


def test_stepping_back_and_forth_keeps_every_row(app):
    """A downgrade then an upgrade of each recent migration keeps every row of every table.
    On SQLite a batch migration copies the table and drops the old one; with foreign keys
    on, that drop cascaded to every notice and membership of the accounts table (0018 did)."""
    import flask_migrate

    from moderation import actions
    from tests.factories import add_member
    from tests.factories import make_account
    from tests.factories import make_message
    from tests.factories import make_room
    from tests.factories import make_space
    from tests.factories import make_thread

    owner, author, moderator = (make_account(a) for a in ("Ownerm", "Authorm", "Modm"))
    space = make_space("open", owner=owner)
    add_member(space, author)
    add_member(space, moderator, role="moderator")
    make_thread(space, author, title="a talk", body="first words")
    message = make_message(make_room(space), author, body="chat words")
    actions.hide(moderator, space.slug, "chat", message.id, "rule 1")
    db.session.commit()

    def counts() -> dict[str, int]:
        tables = sa.inspect(db.engine).get_table_names()
        with db.engine.connect() as connection:
            return {
                t: connection.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar_one()  # nosec B608
                for t in tables
                if t != "alembic_version"
            }

    before = counts()
    assert before["notices"] and before["memberships"] and before["chat_messages"]
    db.session.close()
    for step in range(1, ROUND_TRIP_STEPS + 1):
        flask_migrate.downgrade(revision=f"-{step}")
        flask_migrate.upgrade()
        db.session.close()
        assert counts() == before, f"stepping back {step} migration(s) lost rows"
