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


def upgrade():
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("time_zone")
