"""The one door out to clients: every ``socketio.emit`` of the app is in this file.

Services send blinker signals after they commit; the receivers here turn them
into Socket.IO events. Each emit names its audience explicitly:

- ``room:<id>``     the sockets that joined a chat room (members of its space);
- ``account:<id>``  every socket of one person (each joins at connect);
- ``session:<id>``  the sockets of one signed-in browser.

Each event has one payload builder (``*_payload``). With ``REDIS_URL`` set, emits,
``leave_room`` and ``disconnect`` travel through the Redis message queue, so they
reach sockets held by any process.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import current_app
from flask import has_request_context
from flask import request

from forum import access
from forum import signals
from forum.extensions import db
from forum.extensions import socketio
from forum.models import Post
from forum.models import Space
from forum.safety import messages
from forum.safety.models import DirectMessage
from forum.safety.models import UrgentAlert
from realtime import chat
from realtime import live
from realtime import sockets
from realtime import watches
from realtime.models import ChatMessage
from realtime.models import ChatRoom

NAMESPACE = "/chat"

log = logging.getLogger(__name__)


def room(room_id: int) -> str:
    return f"room:{room_id}"


def account(account_id: int) -> str:
    return f"account:{account_id}"


def session(session_id: int) -> str:
    return f"session:{session_id}"


def _current_sid() -> str | None:
    """The socket whose event caused this, if any (it gets its answer in the ack)."""
    return getattr(request, "sid", None) if has_request_context() else None


# --- payloads: one per event ----------------------------------------------------


def message_payload(message: ChatMessage) -> dict[str, Any]:
    return chat.payload_of(message)


def removed_payload(room_id: int, ids: list[int], seqs: list[int]) -> dict[str, Any]:
    return {"room_id": room_id, "ids": list(ids), "seqs": list(seqs)}


def room_payload(chat_room: ChatRoom) -> dict[str, Any]:
    return {
        "room_id": chat_room.id,
        "name": chat_room.name,
        "archived": chat_room.archived_at is not None,
    }


def closed_payload(space_id: int, room_ids: list[int], reason: str) -> dict[str, Any]:
    # ``code`` lets the page say it in its own language (forum/jslabels.py); ``reason``
    # is the English fallback.
    return {"space_id": space_id, "room_ids": room_ids, "reason": reason, "code": "not_member"}


def muted_payload(space_id: int, until: Any) -> dict[str, Any]:
    return {"space_id": space_id, "until": until.isoformat() if until is not None else None}


def typing_payload(room_id: int, name: str) -> dict[str, Any]:
    return {"room_id": room_id, "name": name}


# --- receivers ------------------------------------------------------------------


def _never_raises(receiver: Callable[..., None]) -> Callable[..., None]:
    """Every receiver: the change is already committed, so a failed push is logged, never
    an error for the action that caused it (a stored chat message acked "failed" would be
    sent again by its client, and a stored post would answer 500)."""

    @functools.wraps(receiver)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            receiver(*args, **kwargs)
        except Exception as error:
            db.session.rollback()  # the caller's session stays usable (its own work is committed)
            log.error(
                "live push %s failed: %s", receiver.__name__, type(error).__name__, exc_info=error
            )

    return wrapper


@_never_raises
def on_message_created(
    message: ChatMessage,
    restored: bool = False,
    blocking: list[str] | None = None,
    **_: Any,
) -> None:
    """Everyone in the room hears a new message; the sender already has it in its ack,
    and people who blocked the author never get it (``blocking``: their sockets, when the
    sender read them in its transaction; else read here). ``restored``: a moderator kept
    a message the room had been told was removed; clients drop any other copy of a seq
    they were told is gone (it may arrive after the "removed", from another process)."""
    if blocking is None:
        blocking = sockets.sids_blocking(message)
    skip = [sid for sid in (_current_sid(), *blocking) if sid]
    if restored:
        payload = {**chat.message_dict(message), "restored": True}
    else:
        payload = message_payload(message)
    socketio.emit(
        "message",
        payload,
        to=room(message.room_id),
        skip_sid=skip or None,
        namespace=NAMESPACE,
    )


@_never_raises
def on_message_removed(room_id: int, ids: list[int] = (), seqs: list[int] = (), **_: Any) -> None:
    """Hidden or expired messages: everyone in the room drops them."""
    socketio.emit(
        "removed", removed_payload(room_id, ids, seqs), to=room(room_id), namespace=NAMESPACE
    )


@_never_raises
def on_content_removed(
    space_id: int,
    kind: str | None = None,
    id: int | None = None,
    room_id: int | None = None,
    seq: int | None = None,
    **_: Any,
) -> None:
    """A moderator hid or deleted a chat message (or flags auto-hid it): off every screen."""
    if kind == "chat" and room_id is not None and id is not None:
        on_message_removed(room_id, ids=[id], seqs=[seq] if seq is not None else [])


@_never_raises
def on_content_expired(
    kind: str, rooms: dict[int, list[int]] | None = None, rows: list[dict[str, Any]] = (), **_: Any
) -> None:
    """The sweeper deleted expired chat messages: every open room drops them too.

    (Clients also drop each message at its expires_at by themselves; this covers
    clocks that are wrong and retention shortened by an owner.)
    """
    if kind != "chat":
        return
    by_room: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        by_room.setdefault(row["room_id"], []).append(row)
    for room_id, gone in by_room.items():
        on_message_removed(room_id, ids=[r["id"] for r in gone], seqs=[r["seq"] for r in gone])


@_never_raises
def on_chat_unhidden(
    space_id: int, kind: str | None = None, id: int | None = None, **_: Any
) -> None:
    """A moderator kept a held or hidden chat message: the room hears it (as a new one)."""
    if kind != "chat" or id is None:
        return
    message = db.session.get(ChatMessage, id)
    if message is not None and access.shows(None, message):  # what every member of the room sees
        on_message_created(message, restored=True)


@_never_raises
def on_member_blocked(
    blocker_id: int,
    blocked_id: int | None = None,
    name: str = "",
    space_id: int | None = None,
    **_: Any,
) -> None:
    """Someone blocked a name: the blocker's open rooms drop the messages written under it now.

    Only the blocker's own sockets hear it; nobody else learns of the block.
    """
    if blocked_id is None:
        return
    for room_id, found in chat.blocked_in_open_rooms(
        blocker_id, blocked_id, name, space_id
    ).items():
        socketio.emit(
            "removed",
            removed_payload(room_id, [i for i, _s in found], [s for _i, s in found]),
            to=account(blocker_id),
            namespace=NAMESPACE,
        )


@_never_raises
def on_account_suspended(account_id: int, **_: Any) -> None:
    """Suspended everywhere: every socket of the account ends now."""
    on_account_deleted(account_id)


@_never_raises
def on_room_changed(chat_room: ChatRoom, **_: Any) -> None:
    socketio.emit("room", room_payload(chat_room), to=room(chat_room.id), namespace=NAMESPACE)


# Presence is coalesced: at most one ``presence`` per room per RB_PRESENCE_MS (1 s), so
# filling a room of N costs O(N) deliveries a second, not O(N^2) (every join used to send
# the whole room an update, and build it from the database). The joiner has presence in
# its join ack, so it is skipped when its own join was the last change.
_presence_lock = threading.Lock()
_presence_due: dict[int, str | None] = {}  # room id -> sid whose ack already shows the latest


def _presence_interval() -> float:
    return current_app.config["RB_PRESENCE_MS"] / 1000


@_never_raises
def on_presence_changed(room_id: int, joined_sid: str | None = None, **_: Any) -> None:
    """Someone came or went: the room hears the new presence now (RB_PRESENCE_MS 0) or
    once the interval has passed, with every change made meanwhile."""
    interval = _presence_interval()
    if interval <= 0:
        _emit_presence(room_id, joined_sid)
        return
    with _presence_lock:
        first = room_id not in _presence_due
        _presence_due[room_id] = joined_sid
    if first:
        socketio.start_background_task(
            _presence_later, current_app._get_current_object(), room_id, interval
        )


def _presence_later(app: Any, room_id: int, interval: float) -> None:
    socketio.sleep(interval)
    with app.app_context():
        try:
            flush_presence(room_id)
        finally:
            db.session.remove()


def flush_presence(room_id: int) -> bool:
    """Send a room's pending presence update now; False when none was pending."""
    with _presence_lock:
        if room_id not in _presence_due:
            return False
        joined_sid = _presence_due.pop(room_id)
    _emit_presence(room_id, joined_sid)
    return True


@_never_raises
def _emit_presence(room_id: int, skip: str | None) -> None:
    socketio.emit(
        "presence", chat.presence(room_id), to=room(room_id), skip_sid=skip, namespace=NAMESPACE
    )


@_never_raises
def on_typing(room_id: int, name: str = "", skip_sid: str | None = None, **_: Any) -> None:
    socketio.emit(
        "typing",
        typing_payload(room_id, name),
        to=room(room_id),
        skip_sid=skip_sid,
        namespace=NAMESPACE,
    )


@_never_raises
def on_membership_removed(space_id: int, account_id: int, **_: Any) -> None:
    """A person left or was removed: their sockets leave the space's rooms now."""
    pairs = sockets.forget_account_in_space(account_id, space_id)
    for sid, room_id in pairs:
        socketio.server.leave_room(sid, room(room_id), namespace=NAMESPACE)
    room_ids = sorted({room_id for _sid, room_id in pairs})
    socketio.emit(
        "closed",
        closed_payload(space_id, room_ids, "You are no longer a member of this space."),
        to=account(account_id),
        namespace=NAMESPACE,
    )
    for room_id in room_ids:
        on_presence_changed(room_id)


@_never_raises
def on_membership_muted(space_id: int, account_id: int, until: Any = None, **_: Any) -> None:
    """A muted member keeps reading; their clients learn they cannot send for now."""
    socketio.emit(
        "muted", muted_payload(space_id, until), to=account(account_id), namespace=NAMESPACE
    )


@_never_raises
def on_signed_out(account_id: int, session_ids: list[int] = (), **_: Any) -> None:
    """Sessions ended (logout, revoked, passphrase changed): cut their sockets at once."""
    for session_id in session_ids:
        socketio.emit("signed_out", {}, to=session(session_id), namespace=NAMESPACE)
    for sid in sockets.sids_of_sessions(list(session_ids)):
        disconnect(sid)


@_never_raises
def on_account_deleted(account_id: int, **_: Any) -> None:
    """The account is gone: its sockets end, and rooms drop the messages deleted with it."""
    for sid in sockets.sids_of_account(account_id):
        disconnect(sid)
    for room_id, (ids, seqs) in chat.removed_with_account(account_id).items():
        on_message_removed(room_id, ids=ids, seqs=seqs)


def disconnect(sid: str) -> None:
    """End a socket wherever it lives (through the message queue when there is one)."""
    rooms = sockets.unregister(sid)
    socketio.server.disconnect(sid, namespace=NAMESPACE)
    for room_id in rooms:
        on_presence_changed(room_id)


def connect_receivers() -> None:
    """Connect every receiver (blinker ignores a second connect of the same function)."""
    signals.chat_message_created.connect(on_message_created)
    signals.chat_room_changed.connect(on_room_changed)
    signals.chat_presence_changed.connect(on_presence_changed)
    signals.chat_typing.connect(on_typing)
    signals.member_removed.connect(on_membership_removed)
    signals.member_muted.connect(on_membership_muted)
    signals.account_signed_out.connect(on_signed_out)
    signals.account_deleted.connect(on_account_deleted)
    signals.content_hidden.connect(on_content_removed)
    signals.content_deleted.connect(on_content_removed)
    signals.account_suspended.connect(on_account_suspended)
    signals.content_expired.connect(on_content_expired)
    signals.content_unhidden.connect(on_chat_unhidden)
    signals.member_blocked.connect(on_member_blocked)


# --- the live channel for forum pages (static/js/live.js) ----------------------------
#
# Audiences:
# - ``account:<id>``  ``update``: a reply in a thread this person follows (the updates list);
#                     ``new_thread``: a new thread in a space this person may read;
# - ``thread:<id>``   the sockets of open thread pages (``watch_thread`` checked read access):
#                     ``new_reply``, ``posts_removed``, ``post_changed``, ``thread_gone``;
# - one socket id     ``thread_gone`` when its account can no longer read the thread.
# Who is in each audience is decided in realtime/live.py; payloads carry ids, counts and,
# for ``update``, the title and space name the follower may read (never the author's name).

GONE = "This thread is gone: it was removed or it expired."
NOT_MEMBER = "You are no longer a member of this space, so this thread is closed to you."
GONE_CODES = {GONE: "gone", NOT_MEMBER: "not_member"}


def thread(thread_id: int) -> str:
    return f"thread:{thread_id}"


def update_payload(thread_row: Any, space_row: Any, new_posts: int) -> dict[str, Any]:
    return {
        "thread_id": thread_row.id,
        "title": thread_row.title,
        "space": space_row.name,
        "new_posts": new_posts,
    }


def new_reply_payload(thread_id: int, post_id: int, page: int) -> dict[str, Any]:
    return {"thread_id": thread_id, "post_id": post_id, "page": page}


def posts_removed_payload(thread_id: int, post_ids: list[int]) -> dict[str, Any]:
    return {"thread_id": thread_id, "post_ids": sorted(set(post_ids))}


def post_changed_payload(thread_id: int, post_id: int | None) -> dict[str, Any]:
    """``post_id`` None: the thread itself (its title) changed."""
    return {"thread_id": thread_id, "post_id": post_id}


def thread_gone_payload(thread_id: int, reason: str) -> dict[str, Any]:
    # One audience may read several languages: ``code`` picks the page's own words
    # (forum/jslabels.py "live.gone", "live.not_member"); ``reason`` is the English.
    return {"thread_id": thread_id, "reason": reason, "code": GONE_CODES.get(reason, "gone")}


def new_thread_payload(space_id: int, thread_id: int) -> dict[str, Any]:
    return {"space_id": space_id, "thread_id": thread_id}


@_never_raises
def on_thread_created(thread_id: int, **_: Any) -> None:
    """A new thread: online readers of its space hear ``new_thread`` (an open space page
    says "1 new thread — show"). Ids only: the page reloads to show what its reader may see.

    Not told: the author, readers who blocked the author, anyone when the thread is held.
    """
    found = live.new_thread_audience(thread_id)
    if found is None:
        return
    thread_row, account_ids = found
    payload = new_thread_payload(thread_row.space_id, thread_row.id)
    for account_id in account_ids:
        socketio.emit("new_thread", payload, to=account(account_id), namespace=NAMESPACE)


@_never_raises
def on_post_created(post_id: int, **_: Any) -> None:
    """A reply: online followers who may read it hear ``update``;
    the thread's pages hear ``new_reply``.

    Not told: the author, followers who blocked the author, readers who lost access,
    anyone at all when the post or thread is hidden.
    """
    found = live.update_audience(post_id)
    if found is not None:
        thread_row, space_row, followers = found
        for follower in followers:
            socketio.emit(
                "update",
                update_payload(thread_row, space_row, follower.new_posts),
                to=account(follower.account_id),
                namespace=NAMESPACE,
            )
    reply = live.new_reply_audience(post_id)
    if reply is not None:
        post_row, page, skip = reply
        socketio.emit(
            "new_reply",
            new_reply_payload(post_row.thread_id, post_row.id, page),
            to=thread(post_row.thread_id),
            skip_sid=skip or None,
            namespace=NAMESPACE,
        )


def _posts_removed(thread_id: int, post_ids: list[int]) -> None:
    socketio.emit(
        "posts_removed",
        posts_removed_payload(thread_id, post_ids),
        to=thread(thread_id),
        namespace=NAMESPACE,
    )


def _post_changed(thread_id: int, post_id: int | None) -> None:
    socketio.emit(
        "post_changed",
        post_changed_payload(thread_id, post_id),
        to=thread(thread_id),
        namespace=NAMESPACE,
    )


def _thread_gone(thread_id: int) -> None:
    """Every open page of the thread says it is gone; the room and its records close."""
    socketio.emit(
        "thread_gone",
        thread_gone_payload(thread_id, GONE),
        to=thread(thread_id),
        namespace=NAMESPACE,
    )
    socketio.close_room(thread(thread_id), namespace=NAMESPACE)
    watches.forget_thread(thread_id)


@_never_raises
def on_post_edited(post_id: int, thread_id: int | None = None, **_: Any) -> None:
    if thread_id is not None:
        _post_changed(thread_id, post_id)


@_never_raises
def on_post_deleted(
    post_id: int, thread_id: int | None = None, thread_deleted: bool = False, **_: Any
) -> None:
    """An author deleted their post (an erased first post stays, changed; see forum/threads.py)."""
    if thread_id is None:
        return
    if thread_deleted:
        _thread_gone(thread_id)
    elif db.session.get(Post, post_id) is not None:
        _post_changed(thread_id, post_id)
    else:
        _posts_removed(thread_id, [post_id])


@_never_raises
def on_forum_content_removed(
    space_id: int,
    kind: str | None = None,
    id: int | None = None,
    thread_id: int | None = None,
    **_: Any,
) -> None:
    """A moderator (or flags) hid or deleted a post or thread: drop it from every open page."""
    if kind == "post" and id is not None and thread_id is not None:
        _posts_removed(thread_id, [id])
    elif kind == "thread" and id is not None:
        _thread_gone(id)


@_never_raises
def on_forum_content_redacted(
    space_id: int,
    kind: str | None = None,
    id: int | None = None,
    thread_id: int | None = None,
    **_: Any,
) -> None:
    """Personal information taken out: open pages say "edited, reload" (old text stays local)."""
    if kind == "post" and id is not None and thread_id is not None:
        _post_changed(thread_id, id)
    elif kind == "thread" and id is not None:
        _post_changed(id, None)


@_never_raises
def on_forum_content_expired(kind: str, rows: list[dict[str, Any]] = (), **_: Any) -> None:
    """The sweeper deleted expired posts or threads: open pages drop them (one event per thread)."""
    if kind == "posts":
        by_thread: dict[int, list[int]] = {}
        for row in rows:
            by_thread.setdefault(row["thread_id"], []).append(row["id"])
        for thread_id, post_ids in by_thread.items():
            _posts_removed(thread_id, post_ids)
    elif kind == "threads":
        for row in rows:
            _thread_gone(row["id"])


@_never_raises
def on_member_lost_threads(space_id: int, account_id: int, **_: Any) -> None:
    """A person left or was removed: their sockets leave the threads they may no longer read."""
    for sid, thread_id in live.lost_access(account_id, space_id):
        socketio.server.leave_room(sid, thread(thread_id), namespace=NAMESPACE)
        socketio.emit(
            "thread_gone", thread_gone_payload(thread_id, NOT_MEMBER), to=sid, namespace=NAMESPACE
        )


def connect_live_receivers() -> None:
    """Connect the forum-page receivers (idempotent, like ``connect_receivers``)."""
    signals.thread_created.connect(on_thread_created)
    signals.post_created.connect(on_post_created)
    signals.post_edited.connect(on_post_edited)
    signals.post_deleted.connect(on_post_deleted)
    signals.content_hidden.connect(on_forum_content_removed)
    signals.content_deleted.connect(on_forum_content_removed)
    signals.content_redacted.connect(on_forum_content_redacted)
    signals.content_expired.connect(on_forum_content_expired)
    signals.member_removed.connect(on_member_lost_threads)


# --- safety: check-in alerts (forum/safety/checkins.py) --------------------------------------
#
# Audience: ``account:<id>`` of each contact the member chose (buddies, an organisation's
# staff), as listed by the service in the signal. Nobody else, and nothing outside the site.


def checkin_alert_payload(checkin_id: int, kind: str, name: str, note: str) -> dict[str, Any]:
    return {"checkin_id": checkin_id, "kind": kind, "name": name, "note": note}


def checkin_closed_payload(checkin_id: int, name: str, alerted: bool) -> dict[str, Any]:
    return {"checkin_id": checkin_id, "name": name, "alerted": alerted}


@_never_raises
def on_checkin_alert(
    checkin_id: int,
    kind: str = "missed",
    account_ids: list[int] = (),
    name: str = "",
    note: str = "",
    **_: Any,
) -> None:
    """A check-in's time passed, or its member pressed "I need help now": each contact hears it."""
    for account_id in account_ids:
        socketio.emit(
            "checkin_alert",
            checkin_alert_payload(checkin_id, kind, name, note),
            to=account(account_id),
            namespace=NAMESPACE,
        )


@_never_raises
def on_checkin_closed(
    checkin_id: int, account_ids: list[int] = (), name: str = "", alerted: bool = False, **_: Any
) -> None:
    """The member checked in (or extended): contacts' alert banners for it go."""
    for account_id in account_ids:
        socketio.emit(
            "checkin_closed",
            checkin_closed_payload(checkin_id, name, alerted),
            to=account(account_id),
            namespace=NAMESPACE,
        )


def connect_safety_receivers() -> None:
    signals.checkin_alert.connect(on_checkin_alert)
    signals.checkin_closed.connect(on_checkin_closed)
    signals.dm_created.connect(on_dm_created)
    signals.urgent_alert.connect(on_urgent_alert)
    signals.urgent_alert_removed.connect(on_urgent_alert_removed)
    signals.buddy_ended.connect(on_buddy_ended)


# --- safety: direct messages between buddies (forum/safety/messages.py) -----------------------
#
# Audience: ``account:<id>`` of the other buddy only (the sender has the message in its ack).


def dm_payload(message: DirectMessage) -> dict[str, Any]:
    return messages.message_dict(message)


@_never_raises
def on_dm_created(message_id: int, account_ids: list[int] = (), **_: Any) -> None:
    message = db.session.get(DirectMessage, message_id)
    if message is None:
        return
    for account_id in account_ids:
        socketio.emit("dm", dm_payload(message), to=account(account_id), namespace=NAMESPACE)


@_never_raises
def on_buddy_ended(buddy_id: int, account_ids: list[int] = (), **_: Any) -> None:
    """A pairing ended: both sides' open conversations close (their messages are gone)."""
    for account_id in account_ids:
        socketio.emit(
            "dm_closed", {"buddy_id": buddy_id}, to=account(account_id), namespace=NAMESPACE
        )


# --- safety: urgent alerts in a space (forum/safety/alerts.py) ----------------------------------
#
# Audience: ``account:<id>`` of each member of the space (the author has it on the page).


def urgent_alert_payload(alert: UrgentAlert, space_name: str) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "space": space_name,
        "body": alert.body,
        "expires_at": alert.expires_at.isoformat(),
    }


@_never_raises
def on_urgent_alert(
    alert_id: int, space_id: int | None = None, account_ids: list[int] = (), **_: Any
) -> None:
    alert = db.session.get(UrgentAlert, alert_id)
    space_row = db.session.get(Space, space_id) if space_id is not None else None
    if alert is None or space_row is None:
        return
    payload = urgent_alert_payload(alert, space_row.name)
    for account_id in account_ids:
        socketio.emit("urgent_alert", payload, to=account(account_id), namespace=NAMESPACE)


@_never_raises
def on_urgent_alert_removed(alert_id: int, account_ids: list[int] = (), **_: Any) -> None:
    for account_id in account_ids:
        socketio.emit(
            "urgent_alert_removed",
            {"alert_id": alert_id},
            to=account(account_id),
            namespace=NAMESPACE,
        )
