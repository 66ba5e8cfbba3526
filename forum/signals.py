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

# Chat (realtime/chat.py sends these; realtime/push.py turns them into events).
chat_message_created = _signals.signal("chat-message-created")  # sender: ChatMessage
# For hides and expiry: sender: room id; ids=[...], seqs=[...]. Clients drop those messages.
chat_message_removed = _signals.signal("chat-message-removed")
chat_presence_changed = _signals.signal("chat-presence-changed")  # sender: room id
chat_typing = _signals.signal("chat-typing")  # sender: room id; name=..., skip_sid=...
chat_room_changed = _signals.signal("chat-room-changed")  # sender: ChatRoom (renamed/archived)

# Membership changes (sent by the spaces and moderation services after they commit):
# realtime/push.py takes the person's sockets out of the space's rooms at once.
membership_removed = _signals.signal("membership-removed")  # sender: space id; account_id=...
membership_muted = _signals.signal("membership-muted")  # sender: space id; account_id=..., until=...
