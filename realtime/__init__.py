"""Real-time: Socket.IO chat and the live channel for the rest of the app."""

from __future__ import annotations

import click
from flask import Flask

from forum import clock
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

    @app.cli.command("expire-chat")
    def expire_chat_command() -> None:
        """Delete expired chat messages and stale live-socket records."""
        now = clock.now()
        count = chat.delete_expired(now)
        stale = sockets.purge_stale(now)
        click.echo(f"Deleted {count} expired chat message(s) and {stale} stale socket record(s).")
