"""Posts keep their rendered HTML (posts.body_html): a page view renders no Markdown.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 22:20:00

Existing posts are rendered here, in batches, with the app's one renderer
(forum/markdown.py); a row the batch misses stays NULL and is rendered on view.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade():
    from forum import markdown

    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("body_html", sa.Text(), nullable=True))
    posts = sa.table(
        "posts",
        sa.column("id", sa.Integer),
        sa.column("body", sa.Text),
        sa.column("body_html", sa.Text),
    )
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(posts.c.id, posts.c.body)
            .where(posts.c.id > last)
            .order_by(posts.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for post_id, body in rows:
            connection.execute(
                sa.update(posts)
                .where(posts.c.id == post_id)
                .values(body_html=str(markdown.render(body or "")))
            )
        last = rows[-1][0]


def downgrade():
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("body_html")
