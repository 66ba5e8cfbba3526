"""Alembic environment: the app's engine and metadata, nothing else.

Run through the app (``flask --app forum init-db`` or ``flask --app forum db ...``).
Logging is not reconfigured here: fileConfig would silence the app's loggers.
"""

from __future__ import annotations

from alembic import context
from flask import current_app

target_db = current_app.extensions["migrate"].db


def run_migrations_online() -> None:
    def skip_empty(_context, _revision, directives) -> None:
        # `flask db migrate` with no model change writes no empty revision.
        if (
            getattr(context.config.cmd_opts, "autogenerate", False)
            and directives[0].upgrade_ops.is_empty()
        ):
            directives[:] = []

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", skip_empty)
    with target_db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run against a database.")
run_migrations_online()
