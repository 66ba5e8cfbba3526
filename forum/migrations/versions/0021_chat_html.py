"""Chat messages keep their rendered HTML (chat_messages.body_html): a room page renders
no Markdown. Sealed like the body, under the same key (forum/sealed.py).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 06:30:00

A plain ADD COLUMN (SQLite adds it in place; batch mode would rebuild the table, and
chat_messages has foreign keys). Existing messages are rendered here, in batches, with
the app's one renderer, and sealed under their body's key; a message whose key is
already destroyed keeps NULL (it is due for deletion, and reads as empty either way).
"""

import sqlalchemy as sa
from alembic import op

from forum import sealed

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade():
    from forum import markdown

    op.add_column("chat_messages", sa.Column("body_html", sa.Text(), nullable=True))
    messages = sa.table(
        "chat_messages",
        sa.column("id", sa.Integer),
        sa.column("body", sa.Text),
        sa.column("body_html", sa.Text),
    )
    connection = op.get_bind()
    box = sealed.vault()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(messages.c.id, messages.c.body)
            .where(messages.c.id > last)
            .order_by(messages.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for message_id, stored in rows:
            body = box.open(stored or "")
            key_id = getattr(body, "key_id", None)
            if key_id is None:  # shredded (or empty): nothing to show, the sweep deletes it
                continue
            html = box.seal(str(markdown.render_inline(str(body))), key_id)
            connection.execute(
                sa.update(messages).where(messages.c.id == message_id).values(body_html=html)
            )
        last = rows[-1][0]


def downgrade():
    op.drop_column("chat_messages", "body_html")
