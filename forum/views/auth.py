"""Sign up, log in, log out and recover: thin adapters over ``forum.accounts``."""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _

from forum import accounts
from forum import discreet
from forum import ratelimit
from forum import sessions
from forum.errors import ServiceError
from forum.views.guards import form_text
from forum.views.guards import safe_next

bp = Blueprint("auth", __name__)


def _signed_in(result: accounts.SignedIn) -> None:
    session.clear()  # a fresh CSRF secret for the new session
    sessions.set_cookie_after(result.token)
    # A page rendered by this same request (the recovery codes) shows the signed-in header.
    g.auth_session = result.session
    g.account = result.account
    # The account's discreet mode follows it to this device; a device already discreet
    # stays so (forum/discreet.py).
    if result.account.discreet:
        discreet.remember_after(True)


@bp.route("/signup", methods=["GET", "POST"])
@ratelimit.limit("RB_LIMIT_SIGNUP", address_key_config="RB_LIMIT_SIGNUP_ADDRESS")
def signup():
    """Create an account with an alias and a passphrase; show the recovery codes once."""
    if request.method == "GET":
        return render_template("auth/signup.html", alias="")
    try:
        result = accounts.sign_up(
            form_text("alias"), form_text("passphrase"), form_text("passphrase2")
        )
    except ServiceError as error:
        return render_template(
            "auth/signup.html", error=error.message, alias=form_text("alias")[:64]
        ), error.status
    _signed_in(result)
    return render_template("auth/codes.html", codes=result.recovery_codes, fresh=True)


@bp.route("/login", methods=["GET", "POST"])
@ratelimit.limit("RB_LIMIT_LOGIN")
def login():
    """Log in with alias and passphrase."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("auth/login.html", alias="", next=target)
    try:
        result = accounts.log_in(form_text("alias"), form_text("passphrase"))
    except ServiceError as error:
        return (
            render_template(
                "auth/login.html", error=error.message, alias=form_text("alias")[:64], next=target
            ),
            error.status,
        )
    _signed_in(result)
    return redirect(target, code=303)


@bp.post("/logout")
def logout():
    """End this session."""
    if g.get("auth_session") is not None:
        accounts.log_out(g.auth_session)
    session.clear()
    sessions.clear_cookie_after()
    flash(_("You are logged out."), "info")
    return redirect(url_for("main.index"), code=303)


@bp.route("/recover", methods=["GET", "POST"])
# Per address only: the owner's way back in while someone floods their alias with guesses.
@ratelimit.limit("RB_LIMIT_RECOVER", by_alias=False)
def recover():
    """Set a new passphrase with the alias and one recovery code."""
    if request.method == "GET":
        return render_template("auth/recover.html", alias="")
    try:
        result = accounts.reset_with_code(
            form_text("alias"), form_text("code"), form_text("passphrase"), form_text("passphrase2")
        )
    except ServiceError as error:
        return render_template(
            "auth/recover.html", error=error.message, alias=form_text("alias")[:64]
        ), error.status
    _signed_in(result)
    flash(_("Your passphrase is changed and that recovery code is now used up."), "success")
    return redirect(url_for("account.settings"), code=303)
