"""Business events, sent by services *after* they commit.

``realtime/push.py`` connects to these and turns them into Socket.IO events, so
services never import socketio. Connecting the same receiver twice is a no-op in
blinker, so every app a test builds can connect again.
"""

from __future__ import annotations

from typing import Any

from blinker import Namespace

_signals = Namespace()

account_signed_out = _signals.signal("account-signed-out")  # sender: account id; session_ids=[...]
account_deleted = _signals.signal("account-deleted")  # sender: account id
# Sent by forum/accounts.py *inside* the deletion transaction, before the commit: each
# receiver (moderation's log, bad-date reports) deletes or detaches what the account
# wrote, and must not commit.
# sender: account id; keep_content=bool.
account_deleting = _signals.signal("account-deleting")
# Sent by forum/spaces.py and forum/starter.py after a space is committed. sender: space id.
space_created = _signals.signal("space-created")

# Chat (realtime/chat.py sends these; realtime/push.py turns them into events).
chat_message_created = _signals.signal("chat-message-created")  # sender: ChatMessage
chat_presence_changed = _signals.signal("chat-presence-changed")  # sender: room id
chat_typing = _signals.signal("chat-typing")  # sender: room id; name=..., skip_sid=...
chat_room_changed = _signals.signal("chat-room-changed")  # sender: ChatRoom (renamed/archived)

# Moderation (moderation/*.py). Sender: the space id; keyword payloads as listed.
# Content payload: content_payload() below (None where a field does not apply).
content_hidden = _signals.signal("content-hidden")  # + content payload
content_unhidden = _signals.signal("content-unhidden")  # + content payload
content_deleted = _signals.signal("content-deleted")  # + content payload
content_redacted = _signals.signal("content-redacted")  # + content payload, body=new text
# Membership changes (moderation and the spaces services send these after commit):
# realtime/push.py takes the person's sockets out of the space's rooms at once.
member_muted = _signals.signal("member-muted")  # account_id=, until=
member_removed = _signals.signal("member-removed")  # account_id=
account_suspended = _signals.signal("account-suspended")  # sender: account id; until=
member_blocked = _signals.signal(
    "member-blocked"
)  # sender: blocker id; blocked_id=, name=, space_id=, name=, space_id=

# Sent by forum/expiry.py after each committed sweep batch. sender: the kind
# ("chat", "posts", "threads", or a registered Expirer's name); kwargs: ids=[...],
# rows=[{column: value}] (chat: id, room_id, seq, space_id; posts: id, thread_id,
# space_id; threads: id, space_id), rooms={room_id: [seq, ...]} and
# threads=[thread_id, ...] where they apply.
content_expired = _signals.signal("content-expired")
# Sent by forum/expiry.py's run_maintenance (the sweeper, `flask expire`). sender: now.
# Each receiver commits its own upkeep and returns {label: count}; one failing is logged.
maintenance_due = _signals.signal("maintenance-due")
# Sent by forum/retention.py after an owner changes a space's retention.
# sender: space id; kwargs: chat_hours, post_days, applied_to_existing.
retention_changed = _signals.signal("retention-changed")
# Sent by forum/retention.py after a thread's life (and its posts') was made shorter.
# sender: thread id; kwargs: space_id, expires_at (the thread's new expiry).
thread_shortened = _signals.signal("thread-shortened")

# Forum content (forum/threads.py). sender: the post or thread id; keyword
# arguments give thread_id and space_id so receivers can route without a query.
thread_created = _signals.signal("thread-created")  # sender: thread id; space_id=, post_id=
post_created = _signals.signal("post-created")  # sender: post id; thread_id=, space_id=
post_edited = _signals.signal("post-edited")  # sender: post id; thread_id=, space_id=
# sender: post id; thread_id=, space_id=, thread_deleted=
post_deleted = _signals.signal("post-deleted")


def content_payload(
    kind: str,
    item_id: int,
    *,
    thread_id: int | None = None,
    room_id: int | None = None,
    seq: int | None = None,
) -> dict[str, Any]:
    """The keywords of the content signals: what realtime needs to find an item on screens.

    ``kind``: 'post', 'thread' or 'chat'; chat messages carry ``room_id`` and ``seq``.
    """
    return {"kind": kind, "id": item_id, "thread_id": thread_id, "room_id": room_id, "seq": seq}


# Safety (forum/safety/*.py). Receivers in realtime/push.py reach only the accounts listed.
# sender: check-in id; kind=, account_ids=, name=, note=
checkin_alert = _signals.signal("checkin-alert")
# sender: check-in id; account_ids=, name=, alerted=
checkin_closed = _signals.signal("checkin-closed")
buddy_ended = _signals.signal("buddy-ended")  # sender: pairing id; account_ids=[both]
dm_created = _signals.signal("dm-created")  # sender: message id; account_ids=[the other buddy]
# sender: alert id; space_id=, account_ids=[the space's members but its author]
urgent_alert = _signals.signal("urgent-alert")
# sender: alert id; space_id=, account_ids=
urgent_alert_removed = _signals.signal("urgent-alert-removed")
