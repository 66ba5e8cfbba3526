"""``/healthz``: is this process able to serve? For a load balancer or a process monitor.

It says nothing about anyone: "ok" or "unavailable", no counts, versions or timings.
It reads no session (a cookie sent with it is neither looked up nor refreshed), sets no
cookie, and has no rate limit, so a checker on loopback polling every second is never
refused; it costs one indexed read of a one-row table. GET and HEAD only (CSRF guards
only writes; the view is exempted all the same so no token is ever made for it).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint
from flask import Response
from sqlalchemy.exc import SQLAlchemyError

from forum import sessions
from forum.extensions import csrf
from forum.extensions import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
@csrf.exempt
@sessions.without_session
def healthz() -> Response:
    """200 "ok" when the database answers (and is migrated), else 503 "unavailable"."""
    try:
        db.session.execute(sa.text("SELECT 1 FROM alembic_version LIMIT 1")).all()
    except SQLAlchemyError as error:
        db.session.rollback()
        log.error("health check: the database did not answer (%s)", type(error).__name__)
        return Response("unavailable\n", status=503, mimetype="text/plain")
    return Response("ok\n", status=200, mimetype="text/plain")
