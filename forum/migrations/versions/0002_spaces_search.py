"""spaces and search: full-text indexes over thread titles and post bodies

SQLite: two external-content FTS5 tables (``threads_fts`` over ``threads.title``,
``posts_fts`` over ``posts.body``) kept in step by triggers. External content means
the text itself is stored once (in the real tables); the index holds terms only.
FTS5 keeps a deleted row's terms in older index segments until they are merged,
so ``forum.search.compact()`` runs FTS5 'optimize' after deletions and sweeps.

PostgreSQL: GIN expression indexes on ``to_tsvector('simple', ...)``; no extra
tables and no triggers (the index follows the rows).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"

SQLITE_UP = [
    f"CREATE VIRTUAL TABLE threads_fts USING fts5(title, content='threads', content_rowid='id', {TOKENIZE})",
    f"CREATE VIRTUAL TABLE posts_fts USING fts5(body, content='posts', content_rowid='id', {TOKENIZE})",
    # Threads: index the title.
    """CREATE TRIGGER threads_fts_ai AFTER INSERT ON threads BEGIN
         INSERT INTO threads_fts(rowid, title) VALUES (new.id, new.title);
       END""",
    """CREATE TRIGGER threads_fts_ad AFTER DELETE ON threads BEGIN
         INSERT INTO threads_fts(threads_fts, rowid, title) VALUES ('delete', old.id, old.title);
       END""",
    """CREATE TRIGGER threads_fts_au AFTER UPDATE OF title ON threads BEGIN
         INSERT INTO threads_fts(threads_fts, rowid, title) VALUES ('delete', old.id, old.title);
         INSERT INTO threads_fts(rowid, title) VALUES (new.id, new.title);
       END""",
    # Posts: index the body. (Foreign-key cascades fire these triggers too.)
    """CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN
         INSERT INTO posts_fts(rowid, body) VALUES (new.id, new.body);
       END""",
    """CREATE TRIGGER posts_fts_ad AFTER DELETE ON posts BEGIN
         INSERT INTO posts_fts(posts_fts, rowid, body) VALUES ('delete', old.id, old.body);
       END""",
    """CREATE TRIGGER posts_fts_au AFTER UPDATE OF body ON posts BEGIN
         INSERT INTO posts_fts(posts_fts, rowid, body) VALUES ('delete', old.id, old.body);
         INSERT INTO posts_fts(rowid, body) VALUES (new.id, new.body);
       END""",
    # Rows written before this migration.
    "INSERT INTO threads_fts(threads_fts) VALUES ('rebuild')",
    "INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS posts_fts_au",
    "DROP TRIGGER IF EXISTS posts_fts_ad",
    "DROP TRIGGER IF EXISTS posts_fts_ai",
    "DROP TRIGGER IF EXISTS threads_fts_au",
    "DROP TRIGGER IF EXISTS threads_fts_ad",
    "DROP TRIGGER IF EXISTS threads_fts_ai",
    "DROP TABLE IF EXISTS posts_fts",
    "DROP TABLE IF EXISTS threads_fts",
]

POSTGRES_UP = [
    "CREATE INDEX ix_fts_threads_title ON threads USING gin (to_tsvector('simple'::regconfig, title))",
    "CREATE INDEX ix_fts_posts_body ON posts USING gin (to_tsvector('simple'::regconfig, body))",
]

POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_fts_posts_body",
    "DROP INDEX IF EXISTS ix_fts_threads_title",
]


def upgrade():
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}.get(dialect, [])
    for statement in statements:
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}.get(dialect, [])
    for statement in statements:
        op.execute(statement)
