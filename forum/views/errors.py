"""One place that turns every error into a readable page with the right status."""

from __future__ import annotations

import logging
import math
import time

from flask import Blueprint
from flask import g
from flask import render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from forum import sessions
from forum.errors import RateLimited
from forum.errors import ServiceError
from forum.errors import wait_message
from forum.extensions import db
from forum.extensions import limiter

bp = Blueprint("errors", __name__)
log = logging.getLogger(__name__)

MESSAGES = {
    400: _l("Something in that request was not right."),
    403: _l("You can't do that here."),
    404: _l("We could not find that page."),
    405: _l("That page does not take that kind of request."),
    413: _l("That was too much text to send at once. Please make it shorter."),
    429: _l("Too many attempts. Please wait a little and try again."),
    500: _l("Something went wrong on our side. Nothing you sent was lost; please try again."),
}


def _page(status: int, message: str, retry_after: int | None = None):
    _reader()
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return render_template("error.html", status=status, message=message), status, headers


def _reader() -> None:
    """Who is reading, when the error came before the session was read (a CSRF failure,
    a rate limit: their checks run first), so the page speaks the member's language."""
    if "account" in g:
        return
    try:
        sessions.load_current_session()
    except Exception:
        g.auth_session = g.account = None
        try:
            db.session.rollback()
        except Exception:
            log.warning("error page: the session could not be read")
    refresh()  # the language, if anything asked for it before the account was known


@bp.app_errorhandler(ServiceError)
def service_error(error: ServiceError):
    retry = error.retry_after if isinstance(error, RateLimited) else None
    return _page(error.status, error.message, retry)


@bp.app_errorhandler(CSRFError)
def csrf_error(_error: CSRFError):
    _reader()
    return _page(
        400,
        _(
            "This form was out of date or came from another site. Please go back, reload the "
            "page and try again."
        ),
    )


@bp.app_errorhandler(RateLimitExceeded)
def rate_limited(error: RateLimitExceeded):
    _reader()
    current = limiter.current_limit
    # The window's own reset time (a float): ``reset_at`` is rounded up to the next whole
    # second, which made "wait 15 minutes" read 16 for part of each second.
    retry = max(1, math.ceil(current.window.reset_time - time.time())) if current else 60
    return _page(429, wait_message(retry), retry)


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):
    status = error.code or 500
    return _page(status, MESSAGES.get(status, error.description or MESSAGES[400]))


@bp.app_errorhandler(Exception)
def unexpected(error: Exception):
    # Log the error type and place only: never request data, never the client address.
    log.error("unhandled %s", type(error).__name__, exc_info=error)
    return _page(500, MESSAGES[500])
