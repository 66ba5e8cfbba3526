"""Trust per name: standing counters on accounts (the everyday alias) and memberships (space names).

Backfilled from the rows that exist: posts and chat messages written under each
name (capped at 50, ``forum.standing.POSTS_KEPT``), each name's decided flags, and
the day a flag on something written under it was last upheld. A flag counts for
the name its author or flagger shows in that space now (a member who left the
space is not counted).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 22:00:00

"""

import sqlalchemy as sa
from alembic import op

import forum.dbtypes

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TABLES = ("accounts", "memberships")
COLUMNS = ("trust_posts", "trust_flags_upheld", "trust_flags_dismissed", "trust_upheld_on")
POSTS_KEPT = 50  # forum.standing.POSTS_KEPT when this was written

# Where a row of ``{t}`` (posts, chat messages) was written under the name of the
# membership ``memberships`` / the alias of the account ``accounts``.
WRITTEN_BY_SPACE_NAME = (
    "SELECT count(*) FROM {t} w WHERE w.author_id = memberships.account_id "
    "AND w.space_id = memberships.space_id AND w.author_name = memberships.space_alias"
)
WRITTEN_BY_ALIAS = (
    "SELECT count(*) FROM {t} w WHERE w.author_id = accounts.id AND w.author_name = accounts.alias"
)
# Flags decided (``{s}``) in a space where the flagger / author shows that name now.
FLAGS_OF_SPACE_NAME = (
    "SELECT {agg} FROM mod_flags f WHERE f.{who} = memberships.account_id "
    "AND f.space_id = memberships.space_id AND f.status = '{s}'"
)
FLAGS_OF_ALIAS = (
    "SELECT {agg} FROM mod_flags f JOIN memberships m "
    "ON m.account_id = f.{who} AND m.space_id = f.space_id AND m.space_alias IS NULL "
    "WHERE f.{who} = accounts.id AND f.status = '{s}'"
)


def upgrade():
    # Plain ADD/DROP COLUMN, never a batch copy: on SQLite a batch recreates the table,
    # and dropping the old accounts table with foreign keys on would cascade to every
    # membership and null every author (SQLite 3.35+ drops columns in place).
    for table in TABLES:
        for column in ("trust_posts", "trust_flags_upheld", "trust_flags_dismissed"):
            op.add_column(
                table, sa.Column(column, sa.Integer(), server_default="0", nullable=False)
            )
        op.add_column(
            table,
            sa.Column("trust_upheld_on", forum.dbtypes.UTCDateTime(timezone=True), nullable=True),
        )
    # nosec B608 below: every interpolated name is a module constant.
    for table, written, flags, where in (
        ("memberships", WRITTEN_BY_SPACE_NAME, FLAGS_OF_SPACE_NAME, "space_alias IS NOT NULL"),
        ("accounts", WRITTEN_BY_ALIAS, FLAGS_OF_ALIAS, "1 = 1"),
    ):
        posts = " + ".join(f"({written.format(t=t)})" for t in ("posts", "chat_messages"))
        op.execute(f"UPDATE {table} SET trust_posts = {posts} WHERE {where}")  # nosec B608
        op.execute(
            f"UPDATE {table} SET trust_posts = {POSTS_KEPT} WHERE trust_posts > {POSTS_KEPT}"  # nosec B608
        )
        for column, status in (
            ("trust_flags_upheld", "upheld"),
            ("trust_flags_dismissed", "dismissed"),
        ):
            count = flags.format(agg="count(*)", who="flagger_id", s=status)
            op.execute(f"UPDATE {table} SET {column} = ({count}) WHERE {where}")  # nosec B608
        last = flags.format(agg="max(f.resolved_at)", who="author_id", s="upheld")
        op.execute(f"UPDATE {table} SET trust_upheld_on = ({last}) WHERE {where}")  # nosec B608
        # Kept to the day (as tests/test_coarse_times.py lists it).
        if op.get_bind().dialect.name == "sqlite":
            day = "substr(trust_upheld_on, 1, 10) || ' 00:00:00.000000'"
        else:
            day = "date_trunc('day', trust_upheld_on AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        op.execute(
            f"UPDATE {table} SET trust_upheld_on = {day} WHERE trust_upheld_on IS NOT NULL"  # nosec B608
        )


def downgrade():
    for table in TABLES:
        for column in COLUMNS[::-1]:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # nosec B608: constants
