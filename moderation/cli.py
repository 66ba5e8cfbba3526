"""``flask --app forum moderation ...``: thin wrappers over moderation services."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup
from flask_babel import gettext as _

from forum import accounts
from forum import clock
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import ROLES
from forum.models import Membership
from forum.models import Space
from moderation import expiry


def grant(alias: str, slug: str, role: str = "moderator") -> Membership:
    """Give a member a role in a space (operators bootstrapping a space)."""
    if role not in ROLES:
        raise Invalid(_("Role must be one of %(roles)s.", roles=", ".join(ROLES)))
    account = accounts.find_by_alias(alias)
    space = db.session.scalar(sa.select(Space).where(Space.slug == slug))
    if account is None or space is None:
        raise NotFound(_("No such alias or space."))
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.space_id == space.id, Membership.account_id == account.id
        )
    )
    if membership is None:
        raise NotFound(_("They are not a member of that space yet."))
    membership.role = role
    db.session.commit()
    return membership


def init_app(app: Flask) -> None:
    group = AppGroup("moderation", help="Moderation commands.")

    @group.command("grant")
    @click.argument("alias")
    @click.argument("slug")
    @click.option("--role", default="moderator", show_default=True)
    def grant_command(alias: str, slug: str, role: str) -> None:
        """Make ALIAS a moderator (or --role owner/member) of space SLUG."""
        try:
            grant(alias, slug, role)
        except (Invalid, NotFound) as error:
            raise click.ClickException(error.message) from None
        click.echo(f"{alias} is now {role} of {slug}.")

    @group.command("expire")
    def expire_command() -> None:
        """Blank expired log excerpts, delete old notices and stale flags."""
        counts = expiry.delete_expired(clock.now())
        click.echo(", ".join(f"{v} {k}" for k, v in counts.items()))

    if "moderation" not in app.cli.commands:
        app.cli.add_command(group)
