"""Peer moderation: flags, trust, moderator actions, the log, appeals, blocks,
the privacy guard and watched words."""

from __future__ import annotations

from flask import Flask

from forum import accounts
from forum import expiry as forum_expiry
from moderation import cli
from moderation import expiry
from moderation import models as _models  # noqa: F401 - tables for the metadata
from moderation import views


def init_app(app: Flask) -> None:
    """Register moderation views, CLI commands and hooks."""
    app.register_blueprint(views.bp)
    cli.init_app(app)
    accounts.register_content_hook(expiry.account_hook)
    forum_expiry.register_maintenance(expiry.delete_expired)
    expiry.connect_receivers()
