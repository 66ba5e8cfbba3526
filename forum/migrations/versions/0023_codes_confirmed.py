"""Accounts remember whether their member typed back one of their recovery codes.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 06:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


# Plain ADD/DROP COLUMN, never a batch copy (see 0018). Accounts made before this were
# never asked: they count as confirmed, so nobody is stopped on their next page.


def upgrade():
    op.add_column(
        "accounts",
        sa.Column("codes_confirmed", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade():
    op.drop_column("accounts", "codes_confirmed")
