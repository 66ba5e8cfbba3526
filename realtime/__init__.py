"""Real-time: Socket.IO chat and the live channel for the rest of the app."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register Socket.IO namespaces and signal receivers (after socketio.init_app)."""
