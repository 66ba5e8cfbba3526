"""Notices remember what they are about (the log line, the content), so their lives can
be shortened with it.

Existing notices that link to an appeal page get the log line (and through it the
content) from the link; the others keep their own end (30 days at most).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 22:30:00

"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

APPEAL_LINK = re.compile(r"/mod/appeal/(\d+)$")


def upgrade():
    op.add_column("notices", sa.Column("action_id", sa.Integer(), nullable=True))
    op.add_column("notices", sa.Column("target_kind", sa.String(length=10), nullable=True))
    op.add_column("notices", sa.Column("target_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_notices_action_id"), "notices", ["action_id"], unique=False)
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, link FROM notices WHERE link IS NOT NULL")).all()
    for notice_id, link in rows:
        found = APPEAL_LINK.search(link)
        if found is None:
            continue
        action = bind.execute(
            sa.text("SELECT id, target_kind, target_id FROM mod_actions WHERE id = :id"),
            {"id": int(found.group(1))},
        ).first()
        if action is None:
            continue
        bind.execute(
            sa.text(
                "UPDATE notices SET action_id = :a, target_kind = :k, target_id = :t WHERE id = :id"
            ),
            {"a": action[0], "k": action[1], "t": action[2], "id": notice_id},
        )


def downgrade():
    op.drop_index(op.f("ix_notices_action_id"), table_name="notices")
    for column in ("target_id", "target_kind", "action_id"):
        op.execute(f"ALTER TABLE notices DROP COLUMN {column}")  # nosec B608: constants
