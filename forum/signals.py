"""Business events, sent by services *after* they commit.

``realtime/push.py`` connects to these and turns them into Socket.IO events, so
services never import socketio. Connecting the same receiver twice is a no-op in
blinker, so every app a test builds can connect again.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

account_signed_out = _signals.signal("account-signed-out")  # sender: account id; session_ids=[...]
account_deleted = _signals.signal("account-deleted")  # sender: account id
# Sent by forum/expiry.py after each committed sweep batch. sender: the kind
# ("chat", "posts", "threads", or a registered Expirer's name); kwargs: ids=[...],
# rows=[{column: value}] (chat: id, room_id, seq, space_id; posts: id, thread_id,
# space_id; threads: id, space_id), rooms={room_id: [seq, ...]} and
# threads=[thread_id, ...] where they apply.
content_expired = _signals.signal("content-expired")
# Sent by forum/retention.py after an owner changes a space's retention.
# sender: space id; kwargs: chat_hours, post_days, applied_to_existing.
retention_changed = _signals.signal("retention-changed")
