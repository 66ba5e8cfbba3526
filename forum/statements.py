"""Core statements on the session's own transaction, without the ORM's execution path.

``db.session.execute`` takes even a plain Core statement (no entity to load) through
the ORM: its compile state, execution options, autoflush and result wrapping. On the
hottest paths (every chat message, every socket connect and join) that was about a
quarter of such a statement's CPU (in process: ~100 us a statement against ~76 us on
the session's connection). :func:`run` executes on the connection the session's
transaction already holds, so the statement is in that transaction as before.

Only for statements that load no ORM entity and need not see changes still pending in
the session (nothing is flushed first): the rows come back as plain rows.

:func:`commit_keeping_loaded`: a commit that leaves what the event loaded as it was.
:func:`loaded`: the session's entity of a row such a statement wrote, if a caller loaded it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from forum.extensions import db


def run(statement: sa.Executable, params: dict[str, Any] | None = None) -> sa.CursorResult:
    """Execute a Core statement in the session's transaction (begun if none is)."""
    return db.session.connection().execute(statement, params)


def commit_keeping_loaded() -> None:
    """Commit without expiring what the session has loaded.

    For a write that changed none of the objects the caller goes on reading (a socket
    registry row; a chat message stored by Core, whose account, room, space and
    membership it did not change). SQLAlchemy's default expires every loaded object at
    a commit (a walk over the session's objects) and re-reads each at its next use, a
    query each: a join reloaded its account, room and space and every message it
    answered with. Attributes the flush wrote as SQL expressions (a counter's
    ``x + 1``) are expired by the flush itself, so they are still read afresh.
    """
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def loaded(model: type, ident: Any) -> Any:
    """The session's entity of ``model``'s row ``ident``, if anything in this session loaded
    it, else None (nothing is read). A Core statement that writes a row leaves such an
    entity as it was, and :func:`commit_keeping_loaded` does not expire it: the writer
    brings it up to date (sets what it wrote, or expires it) so no caller reads a stale
    value (a test, or a page, holding the room a send wrote)."""
    return db.session.identity_map.get(so.util.identity_key(model, ident))
