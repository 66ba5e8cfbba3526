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
