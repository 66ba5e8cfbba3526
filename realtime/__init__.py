"""Real-time: Socket.IO chat and the live channel for the rest of the app."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from forum import expiry
from forum import signals
from forum.extensions import socketio
from realtime import chat
from realtime import push
from realtime import sockets
from realtime import views
from realtime.namespace import ChatNamespace


def init_app(app: Flask) -> None:
    """Register the chat pages, the /chat namespace and the push receivers.

    Runs after ``socketio.init_app``: a namespace object registered here exists on
    every app the factory builds (module-level ``@socketio.on`` would not; FINDINGS.md).
    """
    app.register_blueprint(views.bp)
    socketio.on_namespace(ChatNamespace(push.NAMESPACE))
    push.connect_receivers()
    push.connect_live_receivers()  # forum pages: updates list, open thread pages
    signals.space_created.connect(chat.on_space_created)  # every space has a room

    expiry.register_maintenance(_purge_stale_sockets)


def _purge_stale_sockets(now: datetime) -> dict[str, int]:
    return {"stale socket records": sockets.purge_stale(now)}
