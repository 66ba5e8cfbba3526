"""Peer moderation: flags, trust, moderator actions, the log, appeals, blocks,
the privacy guard and watched words.

Forum never imports this package: ``init_app`` installs the screening every forum
write passes and the block rule every list applies, and connects moderation's upkeep
and account-deletion receivers.
"""

from __future__ import annotations

from flask import Flask

from forum import access
from forum import header
from forum import screening as screening_seam
from forum import signals
from forum.safety import policy as safety_policy
from moderation import actions
from moderation import appeals
from moderation import blocks
from moderation import cli
from moderation import expiry
from moderation import guard
from moderation import models as _models  # noqa: F401 - tables for the metadata
from moderation import notices
from moderation import screening
from moderation import trust
from moderation import views


def init_app(app: Flask) -> None:
    """Register moderation views, CLI commands, the screener, the block rule and receivers."""
    app.register_blueprint(views.bp)
    cli.init_app(app)
    screening_seam.install(app, screening)
    access.use_block_rule(app, blocks.blocked)
    safety_policy.register(
        find_identifiers=guard.find_identifiers,
        trust_level=trust.level,
        trusted_level=trust.TRUSTED,
        can_raise_alert=trust.can_raise_alert,
        log_alert_removal=actions.log_alert_removal,
    )
    signals.account_deleting.connect(expiry.forget_account)
    signals.maintenance_due.connect(expiry.delete_expired)
    app.jinja_env.globals["appealable_hides"] = appeals.appealable_hides
    header.add(app, "unseen_notices", notices.unseen_count)
    expiry.connect_receivers()
