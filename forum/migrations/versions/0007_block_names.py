"""Blocks attach to a name, not to an account: add mod_blocks.space_id.

A block row now means "the name ``blocked_name`` of ``blocked_id``": everywhere when
it is their everyday alias (``space_id`` NULL), in one space when it is a name used
only there. Existing rows get the scope of the name they recorded; a row whose name
can no longer be placed is dropped (it would otherwise stand for the whole account).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 16:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mod_blocks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("space_id", sa.Integer(), nullable=True))
        batch_op.drop_constraint("uq_mod_blocks_blocker_id_blocked_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_mod_blocks_blocker_id_blocked_id_space_id_blocked_name"),
            ["blocker_id", "blocked_id", "space_id", "blocked_name"],
        )
        batch_op.create_index(batch_op.f("ix_mod_blocks_space_id"), ["space_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_mod_blocks_space_id_spaces"),
            "spaces",
            ["space_id"],
            ["id"],
            ondelete="CASCADE",
        )
    # The space where the recorded name is (or was) a space name: the membership, else
    # any content written under it there.
    found = ", ".join(
        f"(SELECT {table}.space_id FROM {table} WHERE {table}.{who} = mod_blocks.blocked_id "  # nosec B608: names are module constants
        f"AND {table}.{name} = mod_blocks.blocked_name LIMIT 1)"
        for table, who, name in (
            ("memberships", "account_id", "space_alias"),
            ("threads", "author_id", "author_name"),
            ("posts", "author_id", "author_name"),
            ("chat_messages", "author_id", "author_name"),
        )
    )
    alias = "(SELECT accounts.alias FROM accounts WHERE accounts.id = mod_blocks.blocked_id)"
    op.execute(f"UPDATE mod_blocks SET space_id = COALESCE({found}) WHERE blocked_name <> {alias}")  # nosec B608: names are module constants
    op.execute(f"DELETE FROM mod_blocks WHERE space_id IS NULL AND blocked_name <> {alias}")  # nosec B608: names are module constants


def downgrade():
    # Back to one block per account: keep the oldest row of each pair.
    op.execute(
        "DELETE FROM mod_blocks WHERE id NOT IN (SELECT MIN(id) FROM mod_blocks GROUP BY blocker_id, blocked_id)"
    )
    with op.batch_alter_table("mod_blocks", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_mod_blocks_space_id_spaces"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_mod_blocks_space_id"))
        batch_op.drop_constraint(
            batch_op.f("uq_mod_blocks_blocker_id_blocked_id_space_id_blocked_name"), type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_mod_blocks_blocker_id_blocked_id", ["blocker_id", "blocked_id"]
        )
        batch_op.drop_column("space_id")
