"""Which live socket watches which forum thread, kept in the database.

A thread page's socket joins the Socket.IO room ``thread:<id>`` to hear about new
replies, edits and removals. The room itself lives in the Socket.IO server (and, with
``REDIS_URL``, is reached from every process); this table records the same fact so
that any process can find "the sockets of this account in this space's threads" when
the account loses access (``member_removed``) and take them out of those rooms.

Rows go with their socket (``chat_sockets`` cascade: disconnect and ``purge_stale``)
and with their thread (deleted threads cascade too).

Who may watch what is decided by ``realtime/live.py``; this module only records it.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from forum.extensions import db
from realtime.models import ChatSocket

MAX_PER_SOCKET = 5  # a page watches one thread; a few more leave room for client retries


class ThreadWatch(db.Model):
    """A live socket is watching a thread page (``thread:<id>`` room)."""

    __tablename__ = "live_thread_watches"

    sid: so.Mapped[str] = so.mapped_column(
        sa.ForeignKey("chat_sockets.sid", ondelete="CASCADE"), primary_key=True
    )
    thread_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # Denormalised so a membership change finds its rows without joining threads.
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )


def count_of(sid: str) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(ThreadWatch).where(ThreadWatch.sid == sid)
        )
        or 0
    )


def add(sid: str, thread_id: int, space_id: int) -> None:
    """Record a watch (idempotent)."""
    if db.session.get(ThreadWatch, (sid, thread_id)) is None:
        db.session.add(ThreadWatch(sid=sid, thread_id=thread_id, space_id=space_id))
    db.session.commit()


def remove(sid: str, thread_id: int) -> bool:
    result = db.session.execute(
        sa.delete(ThreadWatch).where(ThreadWatch.sid == sid, ThreadWatch.thread_id == thread_id)
    )
    db.session.commit()
    return bool(result.rowcount)


def forget_thread(thread_id: int) -> None:
    """The thread is gone (hidden, deleted, expired): nobody watches it any more."""
    db.session.execute(sa.delete(ThreadWatch).where(ThreadWatch.thread_id == thread_id))
    db.session.commit()


def of_account_in_space(account_id: int, space_id: int) -> list[tuple[str, int]]:
    """(sid, thread id) for each thread of the space an account's sockets watch."""
    rows = db.session.execute(
        sa.select(ThreadWatch.sid, ThreadWatch.thread_id)
        .join(ChatSocket, ChatSocket.sid == ThreadWatch.sid)
        .where(ChatSocket.account_id == account_id, ThreadWatch.space_id == space_id)
        .order_by(ThreadWatch.sid, ThreadWatch.thread_id)
    )
    return [(sid, thread_id) for sid, thread_id in rows]


def forget(pairs: list[tuple[str, int]]) -> None:
    for sid, thread_id in pairs:
        db.session.execute(
            sa.delete(ThreadWatch).where(ThreadWatch.sid == sid, ThreadWatch.thread_id == thread_id)
        )
    db.session.commit()
