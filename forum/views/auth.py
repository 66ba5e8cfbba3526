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
from forum import recovery
from forum import sessions
from forum.errors import ServiceError
from forum.views.guards import form_text
from forum.views.guards import safe_next
from forum.views.guards import signed_in

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
    return show_codes(result.recovery_codes or [], fresh=True)


def show_codes(
    codes: list[str],
    *,
    fresh: bool,
    ask: int | None = None,
    error: str | None = None,
    status: int = 200,
):
    """The codes, once, with the form that asks one of them back (``ask``: the server's
    choice) before the member may go on."""
    ask = ask if ask is not None and 1 <= ask <= len(codes) else recovery.pick_one(len(codes))
    return render_template(
        "auth/codes.html", codes=codes, fresh=fresh, ask=ask, error=error
    ), status


# What an account held at the recovery-codes step may still open: the step itself, new
# codes, leaving (log out, quick exit), the way in, and the choices every page offers.
WHILE_UNCONFIRMED = frozenset(
    {
        "auth.codes",
        "auth.login",
        "auth.signup",
        "auth.recover",
        "account.new_codes",
        "account.delete",
        "auth.logout",
        "main.quick_exit",
        "main.discreet_mode",
        "main.language",
        "main.manifest",
        "static",
        "health.healthz",
    }
)


@bp.before_app_request
def hold_until_codes_confirmed():
    """Until the member has typed back one recovery code, every page leads to the codes
    step: sign-up cannot go on without the only way back into the account."""
    account = g.get("account")
    if account is None or account.codes_confirmed or request.endpoint in WHILE_UNCONFIRMED:
        return None
    if request.path.startswith("/socket.io"):
        return None
    return redirect(url_for("auth.codes"), code=303)


@bp.route("/codes", methods=["GET", "POST"])
@signed_in
def codes():
    """GET: where an account whose codes were never confirmed is held (new codes, with
    the passphrase). POST: the code asked back; wrong, the same codes are shown again."""
    if request.method == "GET":
        if g.account.codes_confirmed:
            return redirect(url_for("account.settings", _anchor="codes"), code=303)
        return render_template("auth/codes_lost.html")
    shown = request.form.getlist("code")[: recovery.CODE_COUNT + 1]
    raw_ask = form_text("ask")
    ask = int(raw_ask) if raw_ask.isascii() and raw_ask.isdigit() and len(raw_ask) < 3 else -1
    fresh = form_text("fresh") == "1"
    try:
        accounts.confirm_codes(g.account, shown, ask, form_text("answer"))
    except ServiceError as error:
        again = recovery.shown_codes(g.account, shown)
        if not again:
            return render_template("auth/codes_lost.html", error=error.message), error.status
        return show_codes(again, fresh=fresh, ask=ask, error=error.message, status=error.status)
    flash(_("Thank you. Keep your codes safe: each one opens your account once."), "success")
    return redirect(url_for("main.index"), code=303)


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
