"""``/chat``: the Socket.IO adapter. Thin: each event parses, calls a service, acks.

Events the client sends (each answers through its ack callback, ``{"ok": true, ...}``
or ``{"ok": false, "error": "<what went wrong, for people>"}``; never silence):

- ``join``      {room_id, after_seq}  -> enter the room; ack carries every message after
                 ``after_seq`` (at most 500, ``more`` says ask again), ``through`` (the
                 highest seq the answer covers: a seq up to it that is not in
                 ``messages`` is gone) and the presence.
- ``leave``     {room_id}
- ``send``      {room_id, client_id, body, confirmed?} -> ack {ok, id, seq, created_at,
                 expires_at, message}; the others in the room hear ``message``. Held by a
                 watched word: ack {ok, held: true, notice} (nobody else hears it).
                 Personal details found: ack {ok: false, needs_confirmation: true,
                 findings: [{kind, text}], error}; nothing is stored until the client
                 sends the SAME client_id again with ``confirmed: true``.
- ``history``   {room_id, before_seq} -> ack {ok, messages, more} (older page).
                 {room_id, after_seq} -> ack {ok, messages, more, through}: the same answer
                 as ``join`` without entering, for a client filling a gap in seq.
- ``typing``    {room_id}   (spaces with typing indicators on)
- ``heartbeat`` {}          keeps presence fresh across processes.
- ``watch_thread``   {thread_id} -> hear that thread's news (``thread:<id>`` room); a thread
                 the account may not read is refused exactly like a missing one (404).
- ``unwatch_thread`` {thread_id}  (static/js/live.js; see realtime/live.py)
- ``dm_send``   {buddy_id, client_id, body} -> ack {ok, message}; the other buddy hears ``dm``.
                 Stored before the ack; the same client_id again returns the stored message.
- ``dm_history`` {buddy_id, after_id} -> ack {ok, messages, more} (resume after a reconnect).

What the server sends is in ``realtime/push.py``.

Every event first passes a per-socket token bucket (``realtime/throttle.py``,
``RB_SOCKET_RATE`` events a second, bursts of ``RB_SOCKET_BURST``): past it the ack is
``{ok: false, status: 429, retry_after, error}`` at once, before any database work.

The connect can join too: a handshake whose ``auth`` is ``{room_id, after_seq}``
(chat.js's, at every (re)connect) is joined by the ``join`` event's path and rules, and
answered by the server's ``joined`` event (the join ack's dict), sent before the connect
packet; a refused join leaves the connection open.

Authentication: the same ``rb_session`` cookie as HTTP, read from the handshake, and
an ``Origin`` equal to ``RB_PUBLIC_ORIGIN``. The session is checked again at every
event (a logout elsewhere also disconnects the socket, through push.py).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import current_app
from flask import request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_socketio import Namespace
from flask_socketio import join_room
from flask_socketio import leave_room

from forum import i18n
from forum import sessions
from forum.errors import Invalid
from forum.errors import RateLimited
from forum.errors import ServiceError
from forum.extensions import db
from forum.greenlets import Slots
from forum.models import AccountRow
from forum.safety import messages
from moderation import guard
from realtime import chat
from realtime import live
from realtime import push
from realtime import sockets
from realtime import throttle
from realtime.throttle import Throttle

log = logging.getLogger(__name__)
# Diagnostics (issue #14): one line per event stage when RB_TRACE_EVENTS=1. Socket ids
# and event names only: never an address, a user agent or what was sent.
trace = logging.getLogger("realtime.trace")

FAILED = _l("Something went wrong on our side. Nothing you sent was lost; please try again.")


def origin_allowed() -> bool:
    """Cross-site WebSocket hijacking guard: the page must be ours.

    Browsers always send ``Origin`` with a WebSocket handshake and with cross-site
    requests; a same-origin polling GET may carry none, and then the browser's
    ``Sec-Fetch-Site: same-origin`` vouches for it. Anything else is refused,
    including a client that sends neither (it cannot hold a victim's cookie anyway).
    """
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == current_app.config["RB_PUBLIC_ORIGIN"]
    return request.headers.get("Sec-Fetch-Site") == "same-origin"


def _event(handler: Callable[[Any, AccountRow, dict], dict]) -> Callable[..., dict]:
    """Re-authenticate, check the payload is an object, and turn every error into an ack."""

    @functools.wraps(handler)
    def wrapper(self: ChatNamespace, data: object = None, *_extra: object) -> dict:
        try:
            account = sockets.current(request.sid)
        except Exception as error:
            return _failed(error)
        return _answer_in_language(self, handler, account, data)

    return wrapper


def _answer_in_language(
    self: ChatNamespace,
    handler: Callable[[Any, AccountRow, dict], dict],
    account: AccountRow | None,
    data: object,
) -> dict:
    """:func:`_answer`, in the account's language (else the handshake's cookie or
    Accept-Language): messages are translated where raised, inside this block."""
    with force_locale(i18n.locale_for(account, self.languages.get(request.sid))):
        return _answer(self, handler, account, data)


def _answer(
    self: ChatNamespace,
    handler: Callable[[Any, AccountRow, dict], dict],
    account: AccountRow | None,
    data: object,
) -> dict:
    try:
        if account is None:
            push.disconnect(request.sid)
            return {
                "ok": False,
                "error": _("You are signed out. Please log in again."),
                "status": 401,
            }
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise Invalid(_("That request was not in the expected shape."))
        return handler(self, account, data)
    except RateLimited as error:
        return {
            "ok": False,
            "error": error.message,
            "status": 429,
            "retry_after": error.retry_after,
        }
    except guard.NeedsConfirmation as error:
        db.session.rollback()
        return {
            "ok": False,
            "error": error.message,
            "status": error.status,
            "needs_confirmation": True,
            "findings": chat.findings_payload(error.findings),
        }
    except ServiceError as error:
        db.session.rollback()
        return {"ok": False, "error": error.message, "status": error.status}
    except Exception as error:
        return _failed(error)


def _failed(error: Exception) -> dict:
    db.session.rollback()
    log.error("chat event failed: %s", type(error).__name__, exc_info=error)
    return {"ok": False, "error": str(FAILED), "status": 500}


class ChatNamespace(Namespace):
    """Live chat rooms. Registered by ``realtime.init_app``, after ``socketio.init_app``."""

    def __init__(self, namespace: str, throttle: Throttle, slots: Slots) -> None:
        super().__init__(namespace)
        self.throttle = throttle
        self.slots = slots
        # The bucket's refusal in each socket's language, put into words at connect: the
        # bucket answers before any request context exists (so before any translation).
        self.slow_down: dict[str, str] = {}
        self._slow_down_words: dict[str, str] = {}  # language -> the refusal in it
        # Each socket's language for an account that chose none: its handshake's cookie or
        # Accept-Language, which never change for the socket, read once at connect (every
        # event parsed them again).
        self.languages: dict[str, str] = {}

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Every event passes the socket's token bucket first (``realtime/throttle.py``):
        before Flask-SocketIO builds a request context, before any database work; then
        it waits for one of the process's event slots (``forum/greenlets.py``)."""
        sid = args[0] if args else None
        tracing = trace.isEnabledFor(logging.DEBUG)
        if tracing:
            trace.debug("%s %s arrived busy=%d", event, sid, self.slots.busy())
        if event not in ("connect", "disconnect") and args:
            refused = self._over_bucket(args[0])
            if refused is not None:
                return refused
        result: Any = None
        try:
            # At most ``slots.size`` events at once (half the database pool): the rest
            # wait here holding no connection, however long the queue, instead of each
            # taking one, yielding part-way (Redis and PostgreSQL calls)
            # and leaving the sweep and each other to time out on an empty pool.
            # A connect and a join go first: a client waits on them before anything else
            # (chat.js sends what is pending after the join's answer), and behind the
            # messages of everyone who moved here after a kill they waited a minute.
            with self.slots.held(first=event in ("connect", "join")):
                if tracing:
                    trace.debug("%s %s slot", event, sid)
                result = super().trigger_event(event, *args)
                return result
        finally:
            if tracing:
                ok = result.get("ok") if isinstance(result, dict) else result
                status = result.get("status") if isinstance(result, dict) else None
                trace.debug("%s %s done ok=%s status=%s", event, sid, ok, status)
            if event == "disconnect" and args:
                self.throttle.forget(args[0])
                self.slow_down.pop(args[0], None)
                self.languages.pop(args[0], None)

    def on_connect(self, auth: object = None) -> None:
        if not origin_allowed():
            raise ConnectionRefusedError(_("This page is not allowed to connect."))
        found = sessions.find_socket_session(request.cookies.get(sessions.COOKIE_NAME))
        if found is None:
            raise ConnectionRefusedError(_("Please log in to use chat."))
        # The handshake's language read once (the cookie or Accept-Language), the
        # account's own before it; the refusal put into words once per language.
        fallback = i18n.locale_for(None)
        self.languages[request.sid] = fallback
        self.slow_down[request.sid] = self._slow_down_in(i18n.locale_for(found, fallback))
        account_id, session_id = found.account_id, found.id
        # No purge of stale rows here (a write per connect): the minute upkeep does it.
        sockets.register(request.sid, found)
        join_room(push.account(account_id))
        join_room(push.session(session_id))
        if isinstance(auth, dict) and "room_id" in auth:
            self._join_at_connect(found.account, auth)

    def _join_at_connect(self, account: AccountRow, auth: dict) -> None:
        """A ``join`` asked for in the handshake (``auth: {room_id, after_seq}``, chat.js):
        the same join as the event's, by the same service and rules (the socket's bucket
        first, then :meth:`_enter`), one event and one session check fewer for the
        client's first join. Its answer, the join ack's, comes as the ``joined`` event,
        written before the connect's own packet (socket.io clients hold events that come
        before it, in order); a refused join leaves the connection open, as a refused
        ``join`` event does. The session was checked a moment ago, with the account read
        by the same rules the event's check applies (``sessions.find_socket_session``)."""
        sid = request.sid
        answer = self._over_bucket(sid)
        if answer is None:
            answer = _answer_in_language(self, ChatNamespace._enter, account, auth)
        # Straight to this socket, not through the message queue (it is here).
        self.socketio.emit("joined", answer, to=sid, namespace=self.namespace, ignore_queue=True)

    def _over_bucket(self, sid: str) -> dict | None:
        """One token of the socket's bucket spent: None, or the 429 answer when none was
        left (every event's first step, and the join asked for at connect)."""
        wait = self.throttle.allow(sid)
        if wait is None:
            return None
        return throttle.refusal(wait, self.slow_down.get(sid))

    def _slow_down_in(self, locale: str) -> str:
        """The bucket's refusal in ``locale``, worded once per language (a catalogue does
        not change while the process runs); every connect asked Babel again."""
        words = self._slow_down_words.get(locale)
        if words is None:
            with force_locale(locale):
                words = self._slow_down_words[locale] = str(throttle.SLOW_DOWN)
        return words

    def on_disconnect(self, _reason: object = None) -> None:
        for room_id in sockets.unregister(request.sid):
            push.on_presence_changed(room_id)

    @_event
    def on_join(self, account: AccountRow, data: dict) -> dict:
        return self._enter(account, data)

    def _enter(self, account: AccountRow, data: dict) -> dict:
        """A join (the event's, or one asked for at connect): ``chat.enter_room`` decides."""
        entered: list[int] = []

        def be_in(room_id: int) -> None:  # before history is read (chat.enter_room)
            join_room(push.room(room_id))
            entered.append(room_id)

        try:
            here = chat.enter_room(
                account, request.sid, data.get("room_id"), data.get("after_seq"), be_in
            )
        except Exception:
            for room_id in entered:
                leave_room(push.room(room_id))
            raise
        return {
            "ok": True,
            "room_id": here.room.id,
            "messages": [chat.message_dict_for(m, account) for m in here.page.items],
            "more": here.page.has_next,
            "through": here.through,
            "presence": here.presence,
        }

    @_event
    def on_leave(self, account: AccountRow, data: dict) -> dict:
        room_id = data.get("room_id")
        chat.leave_room(account, request.sid, room_id)
        leave_room(push.room(room_id))
        return {"ok": True}

    @_event
    def on_send(self, account: AccountRow, data: dict) -> dict:
        message, _new = chat.post_message(
            account,
            data.get("room_id"),
            data.get("client_id"),
            data.get("body"),
            confirmed=data.get("confirmed"),
        )
        if message.hidden_at is not None:
            return {"ok": True, "held": True, "id": message.id, "notice": str(chat.HELD)}
        payload = chat.payload_of(message, last=True)  # the one the room was sent
        return {
            "ok": True,
            "id": message.id,
            "seq": message.seq,
            "created_at": payload["created_at"],
            "expires_at": payload["expires_at"],
            "message": payload,
        }

    @_event
    def on_history(self, account: AccountRow, data: dict) -> dict:
        if "after_seq" in data:  # filling a gap (static/js/chat.js)
            _room, page, through = chat.messages_after(
                account, data.get("room_id"), data.get("after_seq")
            )
            return {
                "ok": True,
                "messages": [chat.message_dict_for(m, account) for m in page.items],
                "more": page.has_next,
                "through": through,
            }
        _room, _access, page = chat.latest(account, data.get("room_id"), data.get("before_seq"))
        return {
            "ok": True,
            "messages": [chat.message_dict_for(m, account) for m in page.items],
            "more": page.has_next,
        }

    @_event
    def on_typing(self, account: AccountRow, data: dict) -> dict:
        chat.typing(account, request.sid, data.get("room_id"))
        return {"ok": True}

    @_event
    def on_heartbeat(self, _account: AccountRow, _data: dict) -> dict:
        return {"ok": True}

    # --- the live channel for forum pages (static/js/live.js) ---------------------------

    @_event
    def on_watch_thread(self, account: AccountRow, data: dict) -> dict:
        thread_id = live.watch_thread(account, request.sid, data.get("thread_id"))
        join_room(push.thread(thread_id))
        try:
            live.recheck_watch(account, request.sid, thread_id)
        except Exception:
            leave_room(push.thread(thread_id))
            raise
        return {"ok": True, "thread_id": thread_id}

    @_event
    def on_unwatch_thread(self, _account: AccountRow, data: dict) -> dict:
        thread_id = live.unwatch_thread(request.sid, data.get("thread_id"))
        if thread_id is not None:
            leave_room(push.thread(thread_id))
        return {"ok": True}

    # --- direct messages between buddies (static/js/dm.js; forum/safety/messages.py) -----------

    @_event
    def on_dm_send(self, account: AccountRow, data: dict) -> dict:
        message, _new = messages.send(
            account, data.get("buddy_id"), data.get("client_id"), data.get("body")
        )
        return {"ok": True, "message": messages.message_dict(message)}

    @_event
    def on_dm_history(self, account: AccountRow, data: dict) -> dict:
        found = messages.conversation(account, data.get("buddy_id"), data.get("after_id", 0))
        shown = [messages.message_dict(m) for m in found.messages]
        return {"ok": True, "messages": shown, "more": found.more}
