"""Search in the spaces a member belongs to: one function, one index that really deletes.

``search(account, query, page)`` looks in thread titles and post bodies of the
spaces the account is a *member* of (not every open space: a member chose those
spaces, and search is where a stranger's words would otherwise turn up). It never
returns content that has expired (``access.live``), is hidden, was deleted, sits
in a space the account is not in, or was written by someone the account blocked
(the post, or the thread it is in).

Titles and bodies are sealed in the database (``forum/sealed.py``), so neither
SQLite's FTS5 over the table nor PostgreSQL's tsvector can index them, and a
tsvector/GIN index would keep every word in plain form in PostgreSQL's files, WAL
and backups long after the text expired. The index therefore lives in the *vault*,
the small local SQLite file that holds the keys and really deletes: one FTS5 table
``search_fts(text, space)`` with ``secure-delete`` on (SQLite >= 3.42; deleted
terms leave the index at once), ``secure_delete=ON`` and a truncated WAL. Rows are
post ids (bodies) and minus thread ids (titles); ``space`` holds ``s<id>`` so the
match itself is limited to the reader's spaces. The same index serves SQLite and
PostgreSQL deployments (one code path).

How it stays in step with the database:

- writes: an ``after_flush`` hook notes each new or changed post body or thread
  title (plain text, in memory); ``after_commit`` writes them to the index (a
  rollback drops them, so text that was never stored is never indexed);
- deletions of any kind (a service, the expiry sweep, a cascade from a thread or a
  space) fire database triggers that queue the ids in ``search_gone`` within the
  deleting transaction (migration 0014); :func:`compact`, which runs after every
  text-changing write and every sweep, removes them from the index and empties the
  queue, then truncates both WALs.

The query's words are quoted, so FTS5 operators typed by a user (``"``, ``*``,
``NEAR(``, ``-``, ``OR``) are just text. Matching ids (newest first, at most
``MAX_CANDIDATES`` each of posts and titles) are then filtered by the database for
visibility and paged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from forum import access
from forum import disk
from forum import markdown
from forum import pagination
from forum import sealed
from forum import text
from forum.extensions import db
from forum.models import Account
from forum.models import Post
from forum.models import SearchGone
from forum.models import Space
from forum.models import Thread

log = logging.getLogger(__name__)

MAX_QUERY = 200
MAX_TERMS = 8
PER_PAGE = 20
MAX_PAGE = 100
# The candidates taken from the index per kind (posts, titles), newest first, before
# the database filters them for visibility: search shows at most MAX_PAGE pages.
MAX_CANDIDATES = 5000
FTS_TABLES = ("search_fts",)  # in the vault, not the database
TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass
class Hit:
    post_id: int
    thread_id: int
    thread_title: str
    space_name: str
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
    """Alembic filter (kept for the migration environment): every object is in the models."""
    return True


def terms(query: str) -> list[str]:
    """The words of a query: whitespace-separated parts holding a letter or digit."""
    return [part for part in query.split() if _WORD.search(part)][:MAX_TERMS]


def fts5_match(words: list[str]) -> str:
    """An FTS5 MATCH string that means "all these words", with no operators left."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def search(account: Account, query: object, page: object = 1) -> Results:
    """Posts matching ``query`` (all words), newest first, in the account's spaces."""
    query = text.clean(query, _("search"), MAX_QUERY, required=False, drop_hidden=True)
    page = pagination.page_number(page, MAX_PAGE)
    words = terms(query)
    if not words:
        message = (
            _("Type a word to search for.")
            if not query
            else _("Please search for words with letters or numbers.")
        )
        return Results(query, [], page, False, message)
    space_ids = list(db.session.scalars(access.searched_spaces(account)))
    post_ids, thread_ids = _matches(words, space_ids)
    if not post_ids and not thread_ids:
        return Results(query, [], page, False)
    matched = sa.or_(
        Post.id.in_(post_ids),
        sa.and_(Post.is_first.is_(True), Post.thread_id.in_(thread_ids)),
    )
    stmt = (
        sa.select(Post, Thread, Space)
        .join(Thread, Thread.id == Post.thread_id)
        .join(Space, Space.id == Post.space_id)
        .where(
            matched,
            Post.space_id.in_(space_ids),
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
            excerpt=""
            if post.content_warning or thread.content_warning
            else markdown.plain_excerpt(post.body, 200),
            created_at=post.created_at,
            expires_at=post.expires_at,
        )
        for post, thread, space in found.items
    ]
    return Results(query, hits, found.page, found.has_next)


def _matches(words: list[str], space_ids: list[int]) -> tuple[list[int], list[int]]:
    """(post ids, thread ids) whose text holds every word, in these spaces, newest first."""
    if not space_ids:
        return [], []
    spaces = " OR ".join(f'"s{int(space_id)}"' for space_id in space_ids)
    match = f"text : ({fts5_match(words)}) AND space : ({spaces})"
    with sealed.vault().connect() as connection:
        posts = connection.exec_driver_sql(
            "SELECT rowid FROM search_fts WHERE search_fts MATCH ? AND rowid > 0 "
            "ORDER BY rowid DESC LIMIT ?",
            (match, MAX_CANDIDATES),
        ).all()
        titles = connection.exec_driver_sql(
            "SELECT rowid FROM search_fts WHERE search_fts MATCH ? AND rowid < 0 "
            "ORDER BY rowid LIMIT ?",
            (match, MAX_CANDIDATES),
        ).all()
    return [row[0] for row in posts], [-row[0] for row in titles]


# --- The index, in the vault ----------------------------------------------------------------


def setup_index(connection: sa.Connection) -> None:
    """The vault's first open: make the index, with secure-delete where SQLite has it."""
    connection.exec_driver_sql(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(text, space, {TOKENIZE})"
    )
    enable_secure_delete(connection)


def secure_delete_on() -> bool:
    """Whether the index removes deleted terms at once (FTS5 secure-delete)."""
    with sealed.vault().connect() as connection:
        for table in FTS_TABLES:
            value = connection.exec_driver_sql(
                f"SELECT v FROM {table}_config WHERE k = 'secure-delete'"  # nosec B608: names are module constants
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


def _doc(obj: Any) -> tuple[int, str, str] | None:
    """(index row id, space token, text) for a post body or thread title; None otherwise."""
    if isinstance(obj, Post):
        return obj.id, f"s{obj.space_id}", str(obj.body or "")
    if isinstance(obj, Thread):
        return -obj.id, f"s{obj.space_id}", str(obj.title or "")
    return None


def _changed(obj: Any, name: str) -> bool:
    return sa.inspect(obj).attrs[name].history.has_changes()


@sa.event.listens_for(so.Session, "after_flush")
def _note_writes(session: so.Session, _context: Any) -> None:
    pending: dict[int, tuple[str, str]] = session.info.setdefault("rb_search", {})
    for obj in session.new:
        doc = _doc(obj)
        if doc is not None:
            pending[doc[0]] = doc[1:]
    for obj in session.dirty:
        name = "body" if isinstance(obj, Post) else "title" if isinstance(obj, Thread) else None
        if name is not None and _changed(obj, name):
            doc = _doc(obj)
            if doc is not None:
                pending[doc[0]] = doc[1:]
    for obj in session.deleted:
        doc = _doc(obj) if isinstance(obj, (Post, Thread)) else None
        if doc is not None:
            pending.pop(doc[0], None)  # the trigger queued it for removal


@sa.event.listens_for(so.Session, "after_commit")
def _write_index(session: so.Session) -> None:
    pending = session.info.pop("rb_search", None)
    if not pending:
        return
    try:
        with sealed.vault().connect() as connection:
            for rowid, (space, text) in pending.items():
                connection.exec_driver_sql("DELETE FROM search_fts WHERE rowid = ?", (rowid,))
                connection.exec_driver_sql(
                    "INSERT INTO search_fts (rowid, text, space) VALUES (?, ?, ?)",
                    (rowid, text, space),
                )
            connection.commit()
    except Exception as error:  # the content is stored; only its search entry is missing
        log.error("search index write failed: %s", type(error).__name__)


@sa.event.listens_for(so.Session, "after_rollback")
def _drop_pending(session: so.Session) -> None:
    session.info.pop("rb_search", None)


def forget_gone(limit: int = 5000) -> int:
    """Remove from the index what the database deleted (the ``search_gone`` queue)."""
    removed = 0
    while True:
        rows = db.session.execute(
            sa.select(SearchGone.id, SearchGone.doc).order_by(SearchGone.id).limit(limit)
        ).all()
        if not rows:
            return removed
        with sealed.vault().connect() as connection:
            for row in rows:
                connection.exec_driver_sql("DELETE FROM search_fts WHERE rowid = ?", (row.doc,))
            connection.commit()
        db.session.execute(sa.delete(SearchGone).where(SearchGone.id.in_([r.id for r in rows])))
        db.session.commit()
        removed += len(rows)
        if len(rows) < limit:
            return removed


def rebuild(connection: sa.Connection | None = None) -> int:
    """Index every post body and thread title again (a migration's step, or a lost vault).

    ``connection``: the database connection to read through (a migration's own, which
    may hold locks another connection would wait for); the session's by default.
    """
    source = connection if connection is not None else db.session.connection()
    count = 0
    with sealed.vault().connect() as index:
        index.exec_driver_sql("DELETE FROM search_fts")
        for table, text_column, sign in (("posts", "body", 1), ("threads", "title", -1)):
            t = sa.table(
                table,
                sa.column("id", sa.Integer),
                sa.column("space_id", sa.Integer),
                sa.column(text_column, sealed.SealedText()),
            )
            last_id = 0
            while True:
                rows = source.execute(
                    sa.select(t).where(t.c.id > last_id).order_by(t.c.id).limit(500)
                ).all()
                if not rows:
                    break
                last_id = rows[-1].id
                index.exec_driver_sql(
                    "INSERT INTO search_fts (rowid, text, space) VALUES (?, ?, ?)",
                    [(sign * row.id, f"s{row.space_id}", str(row[2] or "")) for row in rows],
                )
                count += len(rows)
        index.commit()
    return count


def compact() -> None:
    """Make deleted words leave the disk now (after every text-changing write and sweep).

    Removes what the database deleted from the index; with FTS5 secure-delete the
    terms are then gone from it, otherwise (an SQLite older than 3.42) 'optimize'
    merges every segment into one, dropping them. Then TRUNCATE checkpoints empty the
    vault's -wal file and, on SQLite, the database's.
    """
    forget_gone()
    box = sealed.vault()
    if not secure_delete_on():
        with box.connect() as connection:
            if not enable_secure_delete(connection):
                for table in FTS_TABLES:
                    connection.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('optimize')")  # nosec B608: names are module constants
            connection.commit()
    db.session.commit()
    box.checkpoint()
    disk.checkpoint(db.engine)
