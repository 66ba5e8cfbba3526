"""FTS5 secure-delete on the search index (SQLite >= 3.42).

With it, deleting or editing a post removes its old terms from the index at once,
instead of leaving them in older segments until the next merge. Older SQLite
builds lack the option: then nothing changes here, and ``search.compact`` merges
the index after every deletion instead (and turns the option on once the app runs
on a newer SQLite; see ``forum/disk.py``). PostgreSQL: nothing to do.

Downgrade turns the option off again.
"""

from __future__ import annotations

from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("threads_fts", "posts_fts")


def _supported() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return False
    version = bind.exec_driver_sql("SELECT sqlite_version()").scalar()
    return tuple(int(part) for part in version.split(".")[:3]) >= (3, 42, 0)


def upgrade() -> None:
    if not _supported():
        return
    for table in TABLES:
        op.execute(f"INSERT INTO {table}({table}, rank) VALUES ('secure-delete', 1)")  # nosec B608: names are module constants
        # Terms that earlier deletions left in old segments: merge them out now.
        op.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")  # nosec B608: names are module constants


def downgrade() -> None:
    if not _supported():
        return
    for table in TABLES:
        op.execute(f"INSERT INTO {table}({table}, rank) VALUES ('secure-delete', 0)")  # nosec B608: names are module constants
