"""Notices remember whether their member has seen them: the header counts the new ones.

A yes/no, not a time: when someone read their notices is not ours to keep.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 01:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notices") as batch_op:
        batch_op.add_column(
            sa.Column("seen", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("notices") as batch_op:
        batch_op.drop_column("seen")
