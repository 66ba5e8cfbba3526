"""Peer moderation: flags, trust, moderator actions, the log, appeals, blocks,
the privacy guard and watched words."""

from __future__ import annotations

from flask import Flask

from forum import access
from forum import accounts
from forum import expiry as forum_expiry
from forum import screening as forum_screening
from forum.safety import policy as safety_policy
from moderation import blocks
from moderation import cli
from moderation import expiry
from moderation import guard
from moderation import models as _models  # noqa: F401 - tables for the metadata
from moderation import screening
from moderation import trust
from moderation import views


def init_app(app: Flask) -> None:
    """Register moderation views, CLI commands and hooks, and the one screening path."""
    app.register_blueprint(views.bp)
    forum_screening.register(app, screening)
    cli.init_app(app)
    access.use_block_rule(app, blocks.blocked)
    accounts.register_content_hook(expiry.account_hook)
    forum_expiry.register_maintenance(expiry.delete_expired)
    safety_policy.register(find_identifiers=guard.find_identifiers, trust_level=trust.level,
                           trusted_level=trust.TRUSTED, can_raise_alert=trust.can_raise_alert)
