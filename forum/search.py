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

Deleted words and FTS5: a delete only adds a "delete" marker; the old terms stay
in older index segments on disk (SQLite 3.40 has no FTS5 secure-delete).
:func:`compact` merges every segment into one ('optimize'), so the deleted terms
are gone from the live pages; ``secure_delete=ON`` (set on every connection by
the app) zeroes the freed pages, and a TRUNCATE checkpoint clears the -wal copy.
It runs after each post deletion, after an account deletion, and from
``flask --app forum expire``. Its cost grows with the index; at this forum's size
that is milliseconds.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from forum import access
from forum import markdown
from forum import pagination
from forum.errors import Invalid
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
    if query is None:
        query = ""
    if not isinstance(query, str):
        raise Invalid("Please type what to search for.")
    if len(query) > MAX_QUERY:
        raise Invalid(f"That search is too long. Please use at most {MAX_QUERY} characters.")
    page = pagination.page_number(page, MAX_PAGE)
    query = query.strip()
    words = terms(query.replace("\x00", " "))
    if not words:
        message = "Type a word to search for." if not query else "Please search for words with letters or numbers."
        return Results(query, [], page, False, message)
    if _dialect() == "postgresql":
        tsquery = sa.func.plainto_tsquery(sa.literal_column("'simple'::regconfig"), " ".join(words))
        in_body = sa.func.to_tsvector(sa.literal_column("'simple'::regconfig"), Post.body).op("@@")(tsquery)
        in_title = sa.func.to_tsvector(sa.literal_column("'simple'::regconfig"), Thread.title).op("@@")(tsquery)
        matched = sa.or_(in_body, sa.and_(Post.is_first.is_(True), in_title))
    else:
        match = fts5_match(words)
        body_ids = sa.text("SELECT rowid FROM posts_fts WHERE posts_fts MATCH :m").columns(sa.column("rowid"))
        title_ids = sa.text("SELECT rowid FROM threads_fts WHERE threads_fts MATCH :m").columns(sa.column("rowid"))
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
            excerpt="" if post.content_warning or thread.content_warning else markdown.plain_excerpt(post.body, 200),
            created_at=post.created_at,
        )
        for post, thread, space in found.items
    ]
    return Results(query, hits, found.page, found.has_next)


def compact() -> None:
    """Rewrite the SQLite search index so deleted words leave the database file.

    'optimize' merges all FTS5 segments into one, dropping deleted entries; the app's
    ``secure_delete=ON`` zeroes the freed pages; a TRUNCATE checkpoint then empties
    the -wal file. On PostgreSQL this does nothing (VACUUM is the operator's job
    there: docs/STACK_FACTS.md).
    """
    if _dialect() != "sqlite":
        return
    db.session.execute(sa.text("INSERT INTO threads_fts(threads_fts) VALUES ('optimize')"))
    db.session.execute(sa.text("INSERT INTO posts_fts(posts_fts) VALUES ('optimize')"))
    db.session.commit()
    try:
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    except sa.exc.OperationalError:  # another writer holds the lock: the next run clears it
        log.warning("search compaction: checkpoint postponed")
