"""Server-side sessions: a random token in a cookie, only its hash in the database.

Flask's own session cookie is signed, not revocable (docs/STACK_FACTS.md), so it carries
nothing but the CSRF secret. Signing in is this module's cookie, ``rb_session``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask import g
from flask import request
from flask.sessions import SecureCookieSessionInterface
from flask.sessions import SessionMixin
from flask.wrappers import Request
from flask.wrappers import Response

from forum import clock
from forum import statements
from forum.dbtypes import UTCDateTime
from forum.extensions import db
from forum.models import Account
from forum.models import AccountRow
from forum.models import AuthSession

F = TypeVar("F", bound=Callable[..., Any])

COOKIE_NAME = "rb_session"
# Session times are kept to the day (midnight UTC): a seized database must not hold
# when someone signed in or last used the site, to the minute. The idle limit counts
# from the start of the day of last use, so a session ends between
# RB_SESSION_IDLE_DAYS - 1 and RB_SESSION_IDLE_DAYS days after it was last used, and
# last_seen_at is written at most once a day.


# Where Socket.IO's handshake and events arrive (Flask-SocketIO's default path, which
# forum/app.py keeps): their request contexts are built on the handshake's environ.
SOCKET_PATH = "/socket.io"


class PagesOnlyCookie(SecureCookieSessionInterface):
    """Flask's own cookie session (the CSRF secret), opened for pages, not for Socket.IO.

    Flask opens it whenever a request context is pushed, and Flask-SocketIO pushes one for
    every socket event: each event parsed the handshake's cookies and built a signing
    serializer (3 % of a chat send's CPU) for a session no socket handler reads (they
    check ``rb_session`` themselves; nothing there uses CSRF). A socket's context gets
    Flask's empty null session instead, which refuses writes."""

    def open_session(self, app: Any, request: Request) -> SessionMixin | None:
        if request.path.startswith(SOCKET_PATH):
            return None  # Flask then makes its null session
        return super().open_session(app, request)


def hash_token(token: str) -> str:
    """SHA-256 hex of a high-entropy token (a slow hash buys nothing here)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_session(account: Account) -> tuple[AuthSession, str]:
    """Add a session for ``account`` (caller commits); return it and the raw token."""
    today = clock.today()
    token = secrets.token_urlsafe(32)
    max_days = current_app.config["RB_SESSION_MAX_DAYS"]
    row = AuthSession(
        account=account,
        token_hash=hash_token(token),
        created_at=today,
        last_seen_at=today,
        expires_at=today + timedelta(days=max_days),
    )
    db.session.add(row)
    return row, token


def is_live(row: AuthSession, now: datetime) -> bool:
    """True while the session is inside both its absolute and its idle limit (both counted
    from midnight UTC of a day: see the note on times above)."""
    return row.expires_at > now and row.last_seen_at > idle_since(now)


def is_suspended(account: Any, now: datetime) -> bool:
    """An administrator's suspension is in force: no sign-in, no page, no socket event.
    ``account``: an entity or a plain row (anything with ``suspended_until``)."""
    return account.suspended_until is not None and account.suspended_until > now


def idle_since(now: datetime) -> datetime:
    """A session last used on or before this is past its idle limit."""
    return now - timedelta(days=current_app.config["RB_SESSION_IDLE_DAYS"])


def live_sessions(now: Any, idle_from: Any) -> sa.ColumnElement[bool]:
    """:func:`is_live` in SQL. ``now`` and ``idle_from`` (:func:`idle_since` of it) are
    values, or bound parameters in a statement built once."""
    return sa.and_(AuthSession.expires_at > now, AuthSession.last_seen_at > idle_from)


_BY_TOKEN = (
    sa.select(AuthSession)
    .join(AuthSession.account)
    .options(so.contains_eager(AuthSession.account))
    .where(AuthSession.token_hash == sa.bindparam("token_hash"))
)


def find_session(token: str | None) -> AuthSession | None:
    """The live session for a raw cookie token, touching it; None otherwise."""
    if not token or len(token) > 100:
        return None
    # The account in the same query (every page asks: it was two).
    row = db.session.scalar(_BY_TOKEN, {"token_hash": hash_token(token)})
    if row is None or not _admitted(row, row.account):
        return None
    return row


@dataclass(frozen=True)
class SocketSession:
    """What a socket's connect needs of a live session: its id and dates, and its account
    as a plain row (``forum/models.py``: what every later event's check reads, so a join
    made at connect needs no second read)."""

    id: int
    expires_at: datetime
    last_seen_at: datetime
    account: AccountRow

    @property
    def account_id(self) -> int:
        return self.account.id

    @property
    def locale(self) -> str | None:
        """The language the account chose (None: the handshake's)."""
        return self.account.locale


def find_socket_session(token: str | None) -> SocketSession | None:
    """:func:`find_session` for a socket's connect, by the same rules (:func:`_admitted`),
    read as one plain row: the session's dates and its account's columns, not the
    session and its account loaded as entities (that load was half of what a connect
    cost the server)."""
    if not token or len(token) > 100:
        return None
    row = statements.run(_SOCKET_BY_TOKEN, {"token_hash": hash_token(token)}).first()
    if row is None:
        return None
    found = SocketSession(*row[:3], AccountRow(*row[3:]))
    if not _admitted(found, found.account):
        return None
    return found


_SOCKET_BY_TOKEN = (
    sa.select(
        AuthSession.id,
        AuthSession.expires_at,
        AuthSession.last_seen_at,
        *AccountRow.columns,
    )
    .select_from(AuthSession)
    .join(Account, Account.id == AuthSession.account_id)
    .where(AuthSession.token_hash == sa.bindparam("token_hash"))
)


def _admitted(session: Any, account: Any) -> bool:
    """Whether a session found by its token still lets its holder in; the one place of
    these rules. ``session`` has the session's ``id``, ``expires_at`` and ``last_seen_at``;
    ``account`` the account's ``suspended_until`` (entities or a plain row).

    A session past its limits is deleted (and refused); a suspended account's is refused;
    a live one is touched, at most once a day (``last_seen_at`` is kept to the day).
    Both writes commit at once (the caller has nothing pending: a page's first step, a
    socket's connect); a commit expires what the session had loaded, so an entity reads
    the new ``last_seen_at`` at its next use.
    """
    now = clock.now()
    if not is_live(session, now):
        statements.run(_FORGET, {"session_id": session.id})
        db.session.commit()
        return False
    if is_suspended(account, now):
        return False
    today = clock.to_day(now)
    if session.last_seen_at < today:
        statements.run(_TOUCH, {"session_id": session.id, "today": today})
        db.session.commit()
    return True


_FORGET = sa.delete(AuthSession).where(AuthSession.id == sa.bindparam("session_id"))
_TOUCH = (
    sa.update(AuthSession)
    .where(AuthSession.id == sa.bindparam("session_id"))
    .values(last_seen_at=sa.bindparam("today", type_=UTCDateTime()))
)


def without_session(view: F) -> F:
    """Mark a view that never looks at the session: its requests neither read nor touch
    one (no ``last_seen_at`` update, no cookie), whatever cookie they carry."""
    view.rb_without_session = True  # type: ignore[attr-defined]
    return view


def load_current_session() -> None:
    """``before_request``: set ``g.auth_session`` and ``g.account`` from the cookie."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "rb_without_session", False):
        g.auth_session = g.account = None
        return
    row = find_session(request.cookies.get(COOKIE_NAME))
    g.auth_session = row
    g.account = row.account if row is not None else None


def set_cookie_after(token: str) -> None:
    """Ask ``write_cookie`` to send this token with the response."""
    g.new_session_token = token


def clear_cookie_after() -> None:
    g.new_session_token = ""


def cookie_secure() -> bool:
    return request.is_secure or current_app.config["RB_PUBLIC_ORIGIN"].startswith("https://")


def put_cookie(response: Response, name: str, value: str | None, max_age: int = 0) -> None:
    """Set (or, with ``value`` None, delete) one of our cookies, always with the same
    attributes: HttpOnly, SameSite=Lax, Secure when served over HTTPS."""
    if value is None:
        response.delete_cookie(name, httponly=True, samesite="Lax", secure=cookie_secure())
    else:
        response.set_cookie(
            name, value, max_age=max_age, httponly=True, samesite="Lax", secure=cookie_secure()
        )


def write_cookie(response: Response) -> Response:
    """``after_request``: send or clear the session cookie when a view asked to."""
    token = g.get("new_session_token")
    if token is None:
        return response
    max_age = current_app.config["RB_SESSION_MAX_DAYS"] * 86400
    put_cookie(response, COOKIE_NAME, token or None, max_age)
    return response


def purge_dead_sessions(now: datetime) -> int:
    """Delete sessions past their absolute or idle limit; return how many."""
    result = db.session.execute(
        sa.delete(AuthSession).where(sa.not_(live_sessions(now, idle_since(now))))
    )
    db.session.commit()
    return result.rowcount or 0
