"""Home, quick exit, and the plain pages every visitor may read."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template

from forum import accounts
from forum import sessions
from forum import spaces
from forum import threads

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """The front page: what this is, and the way in; for members, their spaces and updates."""
    if g.get("account") is None:
        return render_template("index.html")
    return render_template(
        "index.html",
        updates=threads.updates(g.account, 1, per_page=5),
        my_spaces=spaces.my_spaces(g.account, 1),
    )


@bp.get("/exit")
def quick_exit():
    """Leave now: end this session, wipe what the browser holds for us, go somewhere neutral.

    A GET on purpose: it must work as a plain link without JavaScript, in one tap.
    Another site can make someone quick-exit; that costs them a sign-in, nothing more.
    """
    if g.get("auth_session") is not None:
        accounts.log_out(g.auth_session)
    sessions.clear_cookie_after()
    response = redirect(current_app.config["RB_QUICK_EXIT_URL"], code=303)
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response
