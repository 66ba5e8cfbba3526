"""HTTP adapters: each module defines its own ``bp``; ``register`` adds them all."""

from __future__ import annotations

from flask import Flask

from forum.views import account
from forum.views import auth
from forum.views import buddies
from forum.views import errors
from forum.views import health
from forum.views import main
from forum.views import orgs
from forum.views import retention
from forum.views import rights
from forum.views import rows
from forum.views import safety
from forum.views import spaces
from forum.views import threads


def register(app: Flask) -> None:
    modules = (
        errors,
        health,
        main,
        auth,
        account,
        spaces,
        threads,
        orgs,
        retention,
        safety,
        buddies,
        rights,
    )
    for module in modules:
        app.register_blueprint(module.bp)
    rows.init_app(app)
