"""Coarse times: day-only columns truncated to midnight UTC; no socket connect time.

``accounts.created_at``, the three ``auth_sessions`` times, ``memberships.joined_at``,
``join_requests.created_at``, ``mod_blocks.created_at``, ``spaces.created_at`` and
``organisations.created_at`` are kept to the day from now on (tests/test_coarse_times.py
lists every time column); existing values are truncated here. ``chat_sockets`` loses
``connected_at``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:30:00

"""

import sqlalchemy as sa
from alembic import op

import forum.dbtypes

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

DAY_COLUMNS = (
    ("accounts", "created_at"),
    ("auth_sessions", "created_at"),
    ("auth_sessions", "last_seen_at"),
    ("auth_sessions", "expires_at"),
    ("memberships", "joined_at"),
    ("join_requests", "created_at"),
    ("mod_blocks", "created_at"),
    ("spaces", "created_at"),
    ("organisations", "created_at"),
)


def upgrade():
    dialect = op.get_bind().dialect.name
    for table, column in DAY_COLUMNS:
        if dialect == "sqlite":
            # UTCDateTime stores naive UTC text on SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff'.
            value = f"substr({column}, 1, 10) || ' 00:00:00.000000'"
        else:
            value = f"date_trunc('day', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        op.execute(f"UPDATE {table} SET {column} = {value} WHERE {column} IS NOT NULL")  # nosec B608: names are module constants
    with op.batch_alter_table("chat_sockets", schema=None) as batch_op:
        batch_op.drop_column("connected_at")


def downgrade():
    # Live socket rows only: a restart clears them anyway.
    op.execute("DELETE FROM chat_sockets")
    with op.batch_alter_table("chat_sockets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("connected_at", forum.dbtypes.UTCDateTime(timezone=True), nullable=False)
        )
