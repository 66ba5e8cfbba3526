"""Accounts may choose the time zone their pages show times in.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 21:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN, never a batch copy: on SQLite a batch recreates the table, and
# dropping the old accounts table with foreign keys on cascades to every row that points at
# an account (notices, memberships ...). SQLite 3.35+ drops a column in place.


def upgrade():
    op.add_column("accounts", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade():
    op.drop_column("accounts", "time_zone")
