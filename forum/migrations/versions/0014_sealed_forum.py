"""Crypto-shredding, second part: thread titles, post bodies and content warnings sealed;
search moves to the vault's FTS5 index (forum/search.py).

- The old search objects go: SQLite's FTS5 tables over ``threads``/``posts`` and their
  triggers (they would index ciphertext), PostgreSQL's GIN indexes (they kept every
  word in plain form in the index files, WAL and backups).
- ``search_gone`` and one trigger per table queue the ids of deleted posts and threads
  (cascades included), which ``search.compact`` removes from the vault's index.
- PostgreSQL: the length-limited sealed columns become ``text`` (the sealed form is
  longer). SQLite keeps their declared length, which it never enforces: changing an
  SQLite column's type means rebuilding the table, and dropping ``threads`` would
  cascade into ``posts``.
- Existing plain values are sealed under their space's day of expiry, and the vault's
  index is built from them.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from forum import sealed
from forum import search

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

FORUM = sealed.Epoch(scope="space_id", expires="expires_at", length=sealed.DAY)
SEALED = {
    "threads": ["title", "content_warning"],
    "posts": ["body", "content_warning", "body_html"],
}
LIMITED = [
    ("threads", "title", 300),
    ("threads", "content_warning", 150),
    ("posts", "content_warning", 150),
]
TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"

SQLITE_OLD = [
    "DROP TRIGGER IF EXISTS posts_fts_au",
    "DROP TRIGGER IF EXISTS posts_fts_ad",
    "DROP TRIGGER IF EXISTS posts_fts_ai",
    "DROP TRIGGER IF EXISTS threads_fts_au",
    "DROP TRIGGER IF EXISTS threads_fts_ad",
    "DROP TRIGGER IF EXISTS threads_fts_ai",
    "DROP TABLE IF EXISTS posts_fts",
    "DROP TABLE IF EXISTS threads_fts",
]
SQLITE_GONE = [
    """CREATE TRIGGER posts_search_gone AFTER DELETE ON posts BEGIN
         INSERT INTO search_gone (doc) VALUES (old.id);
       END""",
    """CREATE TRIGGER threads_search_gone AFTER DELETE ON threads BEGIN
         INSERT INTO search_gone (doc) VALUES (-old.id);
       END""",
]
POSTGRES_OLD = [
    "DROP INDEX IF EXISTS ix_fts_posts_body",
    "DROP INDEX IF EXISTS ix_fts_threads_title",
]
POSTGRES_GONE = [
    """CREATE FUNCTION rb_search_gone() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO search_gone (doc)
           VALUES (CASE WHEN TG_TABLE_NAME = 'threads' THEN -OLD.id ELSE OLD.id END);
         RETURN OLD;
       END $$""",
    "CREATE TRIGGER posts_search_gone AFTER DELETE ON posts "
    "FOR EACH ROW EXECUTE FUNCTION rb_search_gone()",
    "CREATE TRIGGER threads_search_gone AFTER DELETE ON threads "
    "FOR EACH ROW EXECUTE FUNCTION rb_search_gone()",
]


def upgrade():
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    for statement in POSTGRES_OLD if postgres else SQLITE_OLD:
        op.execute(statement)
    op.create_table(
        "search_gone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_gone")),
    )
    for statement in POSTGRES_GONE if postgres else SQLITE_GONE:
        op.execute(statement)
    if postgres:
        for table, column, length in LIMITED:
            op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length))
    for table, columns in SEALED.items():
        sealed.seal_existing(bind, table, columns, FORUM)
    search.rebuild(bind)


def downgrade():
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    for table, columns in SEALED.items():
        sealed.unseal_existing(bind, table, columns, FORUM)
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS threads_search_gone ON threads")
        op.execute("DROP TRIGGER IF EXISTS posts_search_gone ON posts")
        op.execute("DROP FUNCTION IF EXISTS rb_search_gone()")
        for table, column, length in LIMITED:
            op.alter_column(table, column, type_=sa.String(length), existing_type=sa.Text())
        op.execute(
            "CREATE INDEX ix_fts_threads_title ON threads "
            "USING gin (to_tsvector('simple'::regconfig, title))"
        )
        op.execute(
            "CREATE INDEX ix_fts_posts_body ON posts USING gin (to_tsvector('simple'::regconfig, body))"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS threads_search_gone")
        op.execute("DROP TRIGGER IF EXISTS posts_search_gone")
        op.execute(
            f"CREATE VIRTUAL TABLE threads_fts USING fts5(title, content='threads', content_rowid='id', {TOKENIZE})"
        )
        op.execute(
            f"CREATE VIRTUAL TABLE posts_fts USING fts5(body, content='posts', content_rowid='id', {TOKENIZE})"
        )
        op.execute("""CREATE TRIGGER threads_fts_ai AFTER INSERT ON threads BEGIN
             INSERT INTO threads_fts(rowid, title) VALUES (new.id, new.title); END""")
        op.execute("""CREATE TRIGGER threads_fts_ad AFTER DELETE ON threads BEGIN
             INSERT INTO threads_fts(threads_fts, rowid, title) VALUES ('delete', old.id, old.title); END""")
        op.execute("""CREATE TRIGGER threads_fts_au AFTER UPDATE OF title ON threads BEGIN
             INSERT INTO threads_fts(threads_fts, rowid, title) VALUES ('delete', old.id, old.title);
             INSERT INTO threads_fts(rowid, title) VALUES (new.id, new.title); END""")
        op.execute("""CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN
             INSERT INTO posts_fts(rowid, body) VALUES (new.id, new.body); END""")
        op.execute("""CREATE TRIGGER posts_fts_ad AFTER DELETE ON posts BEGIN
             INSERT INTO posts_fts(posts_fts, rowid, body) VALUES ('delete', old.id, old.body); END""")
        op.execute("""CREATE TRIGGER posts_fts_au AFTER UPDATE OF body ON posts BEGIN
             INSERT INTO posts_fts(posts_fts, rowid, body) VALUES ('delete', old.id, old.body);
             INSERT INTO posts_fts(rowid, body) VALUES (new.id, new.body); END""")
        op.execute("INSERT INTO threads_fts(threads_fts) VALUES ('rebuild')")
        op.execute("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")
    op.drop_table("search_gone")
