"""The moderation log remembers the thread of a post it acted on.

A moderator-deleted reply's excerpt is kept for the appeal window; when the
reply's thread expires (even after its life was shortened), that copy must go
too, and the reply itself is no longer there to say which thread it was in.
No foreign key: the thread may already be gone.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mod_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thread_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_mod_actions_thread_id"), ["thread_id"], unique=False)


def downgrade():
    with op.batch_alter_table("mod_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mod_actions_thread_id"))
        batch_op.drop_column("thread_id")
