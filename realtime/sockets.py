"""The registry of live sockets, kept in the database so every process shares it.

A socket is registered at connect (with its account and auth session) and
removed at disconnect. A socket that vanished without a disconnect (its process
crashed) is dropped once it has not been seen for ``STALE``: the process that holds
a connection vouches for it every ``HEARTBEAT`` seconds (:func:`keep_alive`, one
batched UPDATE for all of its sockets, started by ``realtime.init_app``'s start hook),
because only that process knows the connection is open (Engine.IO's own ping closes
a dead one, and the disconnect removes its row). Events do not write: a busy or
quiet client costs the same, and nothing a client does or omits makes a live
socket look stale (a client that sent no event for 90 s used to be purged by the
next connect, and then told "You are signed out").

Who may join which room is decided by ``realtime/chat.py``; this module only
records what happened.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from forum import access
from forum import clock
from forum import disk
from forum import sessions
from forum import statements
from forum.dbtypes import UTCDateTime
from forum.extensions import db
from forum.models import Account
from forum.models import AccountRow
from forum.models import AuthSession
from forum.models import Membership
from moderation import blocks
from realtime.models import ChatRoom
from realtime.models import ChatSocket
from realtime.models import ChatSocketRoom

HEARTBEAT = 25  # seconds between a process's keep_alive rounds (chat.js heartbeats as often)
STALE = timedelta(seconds=90)  # three missed rounds: the process that held it is gone
KEEP_ALIVE_CHUNK = 500  # sids per UPDATE (well under every database's parameter limit)


def register(sid: str, session: AuthSession | sessions.SocketSession) -> None:
    """Record a new socket for a signed-in session.

    One INSERT, not a merge (which reads the row first: the sid is new, Engine.IO made it
    at random for this connection), and no ORM object (its flush was half the commit).
    """
    row = {"sid": sid, "account_id": session.account_id, "auth_session_id": session.id}
    with disk.unsynced(db.session):
        statements.run(_REGISTER, {**row, "seen_at": clock.now()})
        statements.commit_keeping_loaded()


_REGISTER = sa.insert(ChatSocket.__table__)


def unregister(sid: str) -> list[int]:
    """Forget a socket; return the rooms it was in (their presence changed)."""
    with disk.unsynced(db.session):
        rooms = rooms_of(sid)
        db.session.execute(sa.delete(ChatSocketRoom).where(ChatSocketRoom.sid == sid))
        db.session.execute(sa.delete(ChatSocket).where(ChatSocket.sid == sid))
        db.session.commit()
    return rooms


def current(sid: str) -> AccountRow | None:
    """The account behind a socket, re-checked now: its session still live, not suspended.

    Sessions are authenticated once at connect otherwise (docs/STACK_FACTS.md): a logout
    elsewhere, an expiry or a suspension must end the socket's rights at its next event.
    Every event asks, so it is one query, read from the database each time (nothing
    kept in this process could hear of a logout in another one before that event): the
    account whose session behind this socket is live (``sessions.live_sessions``).
    It was three queries, 60 % of a plain event's CPU. The account comes back as a plain
    row (``forum/models.py``), not an ORM entity: loading the entity was a sixth of a
    chat send, and no event writes the account.
    """
    now = clock.now()
    params = {"sid": sid, "now": now, "idle_from": sessions.idle_since(now)}
    found = statements.run(_CURRENT, params).one_or_none()
    if found is None:
        return None
    account = AccountRow(*found)
    if sessions.is_suspended(account, now):
        return None
    return account


# Built once: every event runs it.
_CURRENT = (
    sa.select(*AccountRow.columns)
    .join(AuthSession, AuthSession.account_id == Account.id)
    .join(ChatSocket, ChatSocket.auth_session_id == AuthSession.id)
    .where(
        ChatSocket.sid == sa.bindparam("sid"),
        sessions.live_sessions(sa.bindparam("now"), sa.bindparam("idle_from")),
    )
)


def keep_alive(sids: list[str], now: datetime) -> int:
    """Mark the sockets this process holds open as seen now; return how many rows matched.

    One UPDATE per ``KEEP_ALIVE_CHUNK`` sockets and one commit per round, whatever the
    clients send: with 5,000 connections that is 10 statements every ``HEARTBEAT`` s,
    instead of a write per socket.
    """
    touched = 0
    with disk.unsynced(db.session):
        for start in range(0, len(sids), KEEP_ALIVE_CHUNK):
            chunk = sids[start : start + KEEP_ALIVE_CHUNK]
            result = db.session.execute(
                sa.update(ChatSocket).where(ChatSocket.sid.in_(chunk)).values(seen_at=now)
            )
            touched += result.rowcount or 0
        db.session.commit()
    return touched


def enter(sid: str, room_id: int) -> int | None:
    """Record that a socket is in a room, in the caller's transaction (it commits); return
    the room's ``last_seq``, read by the same statement, or None when the row was there.

    One statement where a join ran two (its ``last_seq`` read and this INSERT): the
    INSERT skips a row already there (``on_conflict_do_nothing``) and returns the
    room's ``last_seq`` from a subquery, read after the socket joined the Socket.IO room,
    as ``chat.enter_room`` needs. The transaction commits unsynced (:func:`disk.unsynced`):
    call it before the transaction's first write.
    """
    with disk.unsynced(db.session):
        params = {"sid": sid, "room_id": room_id, "of_room": room_id}
        row = statements.run(_enter(), params).first()
    return None if row is None else (row[0] or 0)


def _enter() -> Any:
    """:func:`enter`'s statement, built once per app (every join runs it): an INSERT that
    skips a row already there, whose SQL differs by database, not its meaning. The sid
    and room id are its parameters; it returns the room's ``last_seq`` (both databases
    take a subquery in RETURNING)."""

    def build() -> Any:
        dialect = db.session.get_bind().dialect.name
        kind = postgresql if dialect == "postgresql" else sqlite
        rooms = ChatRoom.__table__
        # The room by a parameter of its own (the VALUES clause owns ``room_id``'s name):
        # a subquery naming the inserted table's column was not correlated to the row.
        of_room = sa.bindparam("of_room", type_=sa.Integer)
        last_seq = sa.select(rooms.c.last_seq).where(rooms.c.id == of_room).scalar_subquery()
        return kind.insert(ChatSocketRoom).on_conflict_do_nothing().returning(last_seq)

    return access.prebuilt("rb_enter_room", build)


def leave(sid: str, room_id: int) -> bool:
    with disk.unsynced(db.session):
        result = db.session.execute(
            sa.delete(ChatSocketRoom).where(
                ChatSocketRoom.sid == sid, ChatSocketRoom.room_id == room_id
            )
        )
        db.session.commit()
    return bool(result.rowcount)


def rooms_of(sid: str) -> list[int]:
    return list(
        db.session.scalars(sa.select(ChatSocketRoom.room_id).where(ChatSocketRoom.sid == sid))
    )


def sids_of_sessions(session_ids: list[int]) -> list[str]:
    if not session_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(ChatSocket.sid).where(ChatSocket.auth_session_id.in_(session_ids))
        )
    )


def sids_of_account(account_id: int) -> list[str]:
    return list(
        db.session.scalars(sa.select(ChatSocket.sid).where(ChatSocket.account_id == account_id))
    )


def sids_blocking(content: Any) -> list[str]:
    """The sockets of everyone who blocked the name ``content`` was written under (a
    message, or an ``access.Written`` with the name and space), in one query: live
    delivery skips them. (An account id alone matches no block: blocks hold names.)

    Not narrowed to one room on purpose: a socket joins the Socket.IO room a moment
    before its room row is written, and a message sent in between must skip it too.
    Emits go to a room, so sockets elsewhere are unaffected.
    """
    if content is None or isinstance(content, int):
        content = access.Written(content)
    if content.author_id is None:
        return []
    params = {"id": content.author_id, "name": content.author_name, "space": content.space_id}
    return list(statements.run(_blockers_sockets(), params).scalars())


def _blockers_sockets() -> sa.Select:
    """:func:`sids_blocking`'s statement, built once per app (every chat message asks):
    building it cost more than running it. The blockers first (moderation's rule, from
    the blocked name's index), then their sockets by account: constant in the sockets.
    A None bound here matches what a None in the rule matched: no name, no
    block; no space, only blocks of an everyday alias (``space_id`` NULL)."""

    def build() -> sa.Select:
        written = access.Written(sa.bindparam("id"), sa.bindparam("name"), sa.bindparam("space"))
        return sa.select(ChatSocket.sid).where(ChatSocket.account_id.in_(blocks.blockers(written)))

    return access.prebuilt("rb_blockers_sockets", build)


def in_space(account_id: int, space_id: int) -> list[tuple[str, int]]:
    """(sid, room id) for each of an account's sockets in a space's rooms."""
    rows = db.session.execute(
        sa.select(ChatSocketRoom.sid, ChatSocketRoom.room_id)
        .join(ChatSocket, ChatSocket.sid == ChatSocketRoom.sid)
        .join(ChatRoom, ChatRoom.id == ChatSocketRoom.room_id)
        .where(ChatSocket.account_id == account_id, ChatRoom.space_id == space_id)
    )
    return [(sid, room_id) for sid, room_id in rows]


def forget_account_in_space(account_id: int, space_id: int) -> list[tuple[str, int]]:
    """Drop an account's sockets from a space's rooms; return what was dropped."""
    pairs = in_space(account_id, space_id)
    for sid, room_id in pairs:
        db.session.execute(
            sa.delete(ChatSocketRoom).where(
                ChatSocketRoom.sid == sid, ChatSocketRoom.room_id == room_id
            )
        )
    db.session.commit()
    return pairs


def clear_at_start() -> int:
    """A server process starts: forget sockets no process holds any more; return how many.

    One process (no ``REDIS_URL``): every row is from before this start, so all go.
    Several processes share the table through Redis and the database: another one may be
    running, so only rows past ``STALE`` go (a restarted worker's own rows follow them
    within ``STALE``).
    """
    if current_app.config.get("REDIS_URL"):
        return purge_stale(clock.now())
    result = db.session.execute(sa.delete(ChatSocket))
    db.session.commit()
    return result.rowcount or 0


def purge_stale(now: datetime) -> int:
    """Delete sockets not seen for ``STALE`` (their process died); return how many."""
    with disk.unsynced(db.session):
        result = db.session.execute(sa.delete(ChatSocket).where(ChatSocket.seen_at < now - STALE))
        db.session.commit()
    return result.rowcount or 0


def _fresh() -> datetime:
    """Seen after this, a socket is live: now less ``STALE``."""
    return clock.now() - STALE


def _present(room_id: Any, fresh: Any = None) -> sa.Select:
    """The accounts with a live socket in a room now (one rule for the count and the names).

    ``fresh``: seen after it (now less ``STALE`` by default; a bound parameter in a
    statement built once)."""
    fresh = _fresh() if fresh is None else fresh
    return (
        sa.select(ChatSocket.account_id)
        .join(ChatSocketRoom, ChatSocketRoom.sid == ChatSocket.sid)
        .where(ChatSocketRoom.room_id == room_id, ChatSocket.seen_at > fresh)
        .distinct()
    )


def online_count(room_id: int) -> int:
    """How many members are in a room now (the room page shows only the number)."""
    params = {"room_id": room_id, "fresh": _fresh()}
    return statements.run(_ONLINE_COUNT, params).scalar() or 0


# Every room page asks: built once, the room and the freshness bound as parameters.
_ONLINE_COUNT = sa.select(sa.func.count()).select_from(
    _present(sa.bindparam("room_id"), sa.bindparam("fresh", type_=UTCDateTime())).subquery()
)


def online(room_id: int, space_id: int, limit: int = 100) -> tuple[int, list[str]]:
    """How many members are in a room (of the space ``space_id``) now, and (up to
    ``limit``) their names there."""
    count = online_count(room_id)
    params = {
        "room_id": room_id,
        "fresh": _fresh(),
        "space_id": space_id,
        "limit": limit,
    }
    names = statements.run(_ONLINE_NAMES, params).scalars()
    return count, sorted(names, key=str.casefold)


# Every join asks (chat.enter_room): built once. The name shown in the space
# (Membership.display_name) in the same query: loading each Membership's account one by
# one made a full room cost a query per member.
_ONLINE_NAMES = (
    sa.select(sa.func.coalesce(Membership.space_alias, Account.alias))
    .join(Account, Account.id == Membership.account_id)
    .where(
        Membership.space_id == sa.bindparam("space_id"),
        Membership.account_id.in_(
            _present(sa.bindparam("room_id"), sa.bindparam("fresh", type_=UTCDateTime()))
        ),
    )
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
