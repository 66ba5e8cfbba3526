"""Search in the spaces a member belongs to: one function, two engines.

``search(account, query, page)`` looks in thread titles and post bodies of the
spaces the account is a *member* of (not every open space: a member chose those
spaces, and search is where a stranger's words would otherwise turn up). It never
returns content that has expired (``access.live``), is hidden, was deleted, sits
in a space the account is not in, or was written by someone the account blocked
(the post, or the thread it is in).

- SQLite (default): external-content FTS5 tables ``threads_fts`` and ``posts_fts``
  kept by triggers (migration 0002). Each term of the query is quoted, so FTS5
  operators typed by a user (``"``, ``*``, ``NEAR(``, ``-``, ``OR``) are just text.
- PostgreSQL: ``to_tsvector('simple', ...) @@ plainto_tsquery('simple', ...)``,
  served by the GIN expression indexes of migration 0002.

Deleted words and FTS5: a plain FTS5 delete only adds a "delete" marker and the old
terms stay in older index segments on disk. Both tables run with FTS5's
``secure-delete`` option (migration 0009, SQLite >= 3.42, see ``forum/disk.py``),
which removes a row's terms from the index as the row is deleted or edited.
:func:`compact` runs after every text-changing write (deletion, edit, redaction,
account deletion, expiry sweep): it checks that the option is on (turning it on
once for a database made by an older SQLite), falls back to an FTS5 'optimize' (a
merge of every segment into one, which drops deleted entries) when this SQLite is
too old for the option, and then truncates the WAL so no copy stays in ``-wal``.
``secure_delete=ON`` (set on every connection by the app) zeroes freed pages.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from forum import access
from forum import disk
from forum import markdown
from forum import pagination
from forum import text
from forum.extensions import db
from forum.models import Account
from forum.models import Post
from forum.models import Space
from forum.models import Thread

log = logging.getLogger(__name__)

MAX_QUERY = 200
MAX_TERMS = 8
PER_PAGE = 20
MAX_PAGE = 100
# Tables and indexes migration 0002 makes outside the models (autogenerate and the
# schema test leave them alone).
SEARCH_TABLE_PREFIXES = ("threads_fts", "posts_fts")
SEARCH_INDEXES = ("ix_fts_threads_title", "ix_fts_posts_body")
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass
class Hit:
    post_id: int
    thread_id: int
    thread_title: str
    space_name: str
    space_slug: str
    excerpt: str
    created_at: datetime
    expires_at: datetime | None = None


@dataclass
class Results:
    query: str
    hits: list[Hit]
    page: int
    has_next: bool
    message: str | None = None


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Alembic filter: the search objects are managed by migration 0002, not the models."""
    if name is None:
        return True
    if type_ == "table" and name.startswith(SEARCH_TABLE_PREFIXES):
        return False
    return not (type_ == "index" and name in SEARCH_INDEXES)


def terms(query: str) -> list[str]:
    """The words of a query: whitespace-separated parts holding a letter or digit."""
    return [part for part in query.split() if _WORD.search(part)][:MAX_TERMS]


def fts5_match(words: list[str]) -> str:
    """An FTS5 MATCH string that means "all these words", with no operators left."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def _dialect() -> str:
    return db.engine.dialect.name


def search(account: Account, query: object, page: object = 1) -> Results:
    """Posts matching ``query`` (all words), newest first, in the account's spaces."""
    query = text.clean(query, "search", MAX_QUERY, required=False, drop_hidden=True)
    page = pagination.page_number(page, MAX_PAGE)
    words = terms(query)
    if not words:
        message = (
            "Type a word to search for."
            if not query
            else "Please search for words with letters or numbers."
        )
        return Results(query, [], page, False, message)
    if _dialect() == "postgresql":
        tsquery = sa.func.plainto_tsquery(sa.literal_column("'simple'::regconfig"), " ".join(words))
        in_body = sa.func.to_tsvector(sa.literal_column("'simple'::regconfig"), Post.body).op("@@")(
            tsquery
        )
        in_title = sa.func.to_tsvector(sa.literal_column("'simple'::regconfig"), Thread.title).op(
            "@@"
        )(tsquery)
        matched = sa.or_(in_body, sa.and_(Post.is_first.is_(True), in_title))
    else:
        match = fts5_match(words)
        body_ids = sa.text("SELECT rowid FROM posts_fts WHERE posts_fts MATCH :m").columns(
            sa.column("rowid")
        )
        title_ids = sa.text("SELECT rowid FROM threads_fts WHERE threads_fts MATCH :m").columns(
            sa.column("rowid")
        )
        matched = sa.or_(
            Post.id.in_(body_ids.bindparams(m=match)),
            sa.and_(Post.is_first.is_(True), Thread.id.in_(title_ids.bindparams(m=match))),
        )
    stmt = (
        sa.select(Post, Thread, Space)
        .join(Thread, Thread.id == Post.thread_id)
        .join(Space, Space.id == Post.space_id)
        .where(
            matched,
            Post.space_id.in_(access.searched_spaces(account)),
            access.visible(account, Post),
            access.visible(account, Thread),
        )
        .order_by(Post.created_at.desc(), Post.id.desc())
    )
    found = pagination.paginate(stmt, page, PER_PAGE, scalars=False, last=MAX_PAGE)
    hits = [
        Hit(
            post_id=post.id,
            thread_id=thread.id,
            thread_title=thread.title,
            space_name=space.name,
            space_slug=space.slug,
            excerpt=""
            if post.content_warning or thread.content_warning
            else markdown.plain_excerpt(post.body, 200),
            created_at=post.created_at,
            expires_at=post.expires_at,
        )
        for post, thread, space in found.items
    ]
    return Results(query, hits, found.page, found.has_next)


FTS_TABLES = ("threads_fts", "posts_fts")


def secure_delete_on() -> bool:
    """SQLite: whether both FTS5 tables remove deleted terms at once (secure-delete)."""
    if _dialect() != "sqlite":
        return False
    for table in FTS_TABLES:
        value = db.session.execute(
            sa.text(f"SELECT v FROM {table}_config WHERE k = 'secure-delete'")  # nosec B608: names are module constants
        ).scalar()
        if not value:
            return False
    return True


def enable_secure_delete(connection: sa.Connection) -> bool:
    """Turn FTS5 secure-delete on (SQLite >= 3.42) and purge what older deletes left.

    Returns False, changing nothing, when this SQLite is too old for the option.
    """
    if not disk.has_fts5_secure_delete(connection.connection.dbapi_connection):  # type: ignore[union-attr]
        return False
    for table in FTS_TABLES:
        connection.exec_driver_sql(
            f"INSERT INTO {table}({table}, rank) VALUES ('secure-delete', 1)"  # nosec B608: names are module constants
        )
        # Terms deleted before the option was on still sit in old segments: merge them out.
        connection.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('optimize')")  # nosec B608: names are module constants
    return True


def compact() -> None:
    """Make deleted words leave the SQLite files now (after every text-changing write).

    With FTS5 secure-delete on, deleted terms are already gone from the index;
    otherwise (an SQLite older than 3.42) 'optimize' merges every segment into
    one, dropping them. Then a TRUNCATE checkpoint empties the -wal file. On
    PostgreSQL this does nothing: its files are another matter (docs/PRIVACY.md).
    """
    if _dialect() != "sqlite":
        return
    if not secure_delete_on():
        connection = db.session.connection()
        if not enable_secure_delete(connection):
            for table in FTS_TABLES:
                connection.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('optimize')")  # nosec B608: names are module constants
    db.session.commit()
    disk.checkpoint(db.engine)
