"""Peer moderation: flags, trust, moderator actions, the log and appeals."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register moderation views, CLI commands and hooks."""
