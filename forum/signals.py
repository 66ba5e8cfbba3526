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

# Forum content (forum/threads.py). sender: the post or thread id; keyword
# arguments give thread_id and space_id so receivers can route without a query.
thread_created = _signals.signal("thread-created")  # sender: thread id; space_id=, post_id=
post_created = _signals.signal("post-created")  # sender: post id; thread_id=, space_id=
post_edited = _signals.signal("post-edited")  # sender: post id; thread_id=, space_id=
post_deleted = _signals.signal("post-deleted")  # sender: post id; thread_id=, space_id=, thread_deleted=
