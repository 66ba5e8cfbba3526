"""``flask --app forum ...`` commands: thin click wrappers over service functions."""

from __future__ import annotations

import secrets
import time

import click
import sqlalchemy as sa
from flask import Flask

from forum import aliases
from forum import clock
from forum import expiry
from forum import passwords
from forum import schema
from forum import search
from forum import starter
from forum import stored
from forum.extensions import db
from forum.models import Account

DEMO_ADMIN = "caretaker"


def make_admin(alias: str, passphrase: str) -> Account:
    """Create an instance admin (no recovery codes: the operator holds the passphrase)."""
    alias = aliases.normalise_alias(alias)
    passphrase = passwords.check_passphrase(passphrase, alias=alias)
    account = Account(
        alias=alias,
        alias_key=aliases.alias_skeleton(alias),
        passphrase_hash=passwords.hash_passphrase(passphrase),
        created_at=clock.today(),
        is_admin=True,
    )
    db.session.add(account)
    db.session.commit()
    return account


def seed_demo() -> str | None:
    """Create the demo admin once; return its new passphrase, or None if it existed."""
    key = aliases.alias_skeleton(DEMO_ADMIN)
    if db.session.scalar(sa.select(Account.id).where(Account.alias_key == key)) is not None:
        return None
    passphrase = "-".join(secrets.token_hex(3) for _ in range(4))
    make_admin(DEMO_ADMIN, passphrase)
    return passphrase


def init_app(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db_command() -> None:
        """Create the database, or upgrade it to the newest schema."""
        schema.upgrade_schema()
        click.echo("Database is ready.")

    @app.cli.command("demo")
    def demo_command() -> None:
        """Create or upgrade the schema and add demo data (an admin, starter spaces)."""
        schema.upgrade_schema()
        passphrase = seed_demo()
        starter.create_starter_spaces()
        if passphrase:
            click.echo(f"Admin alias: {DEMO_ADMIN}")
            click.echo(f"Admin passphrase (shown once, write it down): {passphrase}")
        else:
            click.echo(f"Demo data is in place (admin alias: {DEMO_ADMIN}).")

    @app.cli.command("expire")
    @click.option("--vacuum", is_flag=True, help="Then make deleted rows leave the data files.")
    def expire_command(vacuum: bool) -> None:
        """Delete expired sessions and content now; --vacuum: VACUUM too (FULL on PostgreSQL)."""
        now = clock.now()
        started = time.perf_counter()
        for kind, number in expiry.delete_expired(now).items():
            click.echo(f"Deleted {number} expired {kind}.")
        click.echo(f"Swept in {time.perf_counter() - started:.2f} s.")
        for kind, number in expiry.run_maintenance(now).items():
            click.echo(f"Cleaned {number} {kind}.")
        if vacuum:
            for line in expiry.vacuum():
                click.echo(line)

    @app.cli.command("starter-spaces")
    def starter_spaces_command() -> None:
        """Create the starter spaces that are missing (safe to run again)."""
        created = starter.create_starter_spaces()
        click.echo(f"Created {len(created)} starter space(s).")

    @app.cli.command("search-compact")
    def search_compact_command() -> None:
        """Rewrite the search index so deleted words leave the database file."""
        search.compact()
        click.echo("Search index compacted.")

    @app.cli.command("search-rebuild")
    def search_rebuild_command() -> None:
        """Index every post and thread title again (the vault's search index was lost)."""
        click.echo(f"Indexed {search.rebuild()} titles and posts.")
        db.session.commit()

    @app.cli.command("what-we-store")
    @click.option("--write", is_flag=True, help="Rewrite the section of docs/DEPLOY.md.")
    def what_we_store_command(write: bool) -> None:
        """Print (or write into docs/DEPLOY.md) what the server stores, from the models."""
        problems = stored.missing(db.metadata)
        for problem in problems:
            click.echo(problem, err=True)
        if write:
            changed = stored.write(db.metadata)
            click.echo("docs/DEPLOY.md updated." if changed else "docs/DEPLOY.md is current.")
        else:
            click.echo(stored.render(db.metadata))
        if problems:
            raise SystemExit(1)
