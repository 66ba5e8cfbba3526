"""Your account: sessions, recovery codes, passphrase, preferences, deletion."""

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
from flask_babel import ngettext
from flask_babel import refresh

from forum import accounts
from forum import clock
from forum import discreet
from forum import i18n
from forum import recovery
from forum import sessions
from forum.errors import ServiceError
from forum.views import auth
from forum.views.guards import form_flag
from forum.views.guards import form_text
from forum.views.guards import int_arg
from forum.views.guards import signed_in

bp = Blueprint("account", __name__, url_prefix="/account")


def _settings_page(error: str | None = None, status: int = 200):
    page = int_arg("page", 1, 1, 1000)
    return (
        render_template(
            "account/settings.html",
            error=error,
            sessions=accounts.list_sessions(g.account, page=page),
            page=page,
            codes_left=recovery.remaining(g.account),
            now=clock.now(),
            time_zones=i18n.time_zones(),
        ),
        status,
    )


@bp.get("")
@signed_in
def settings():
    """Sessions, recovery codes, passphrase, preferences and deletion, on one page."""
    return _settings_page()


@bp.post("/sessions/<int:session_id>/revoke")
@signed_in
def revoke(session_id: int):
    """End one session (this one too, if chosen)."""
    current = g.auth_session.id == session_id
    accounts.revoke_session(g.account, session_id)
    if current:
        sessions.clear_cookie_after()
        session.clear()
        return redirect(url_for("main.index"), code=303)
    flash(_("That session is ended."), "success")
    return redirect(url_for("account.settings"), code=303)


@bp.post("/sessions/revoke-others")
@signed_in
def revoke_others():
    """End every session but this one."""
    count = accounts.revoke_all(g.account, keep=g.auth_session)
    flash(
        ngettext("%(num)d other session ended.", "%(num)d other sessions ended.", count),
        "success",
    )
    return redirect(url_for("account.settings"), code=303)


@bp.post("/codes")
@signed_in
def new_codes():
    """Make new recovery codes; the old ones stop working."""
    try:
        codes = accounts.regenerate_codes(g.account, form_text("passphrase"))
    except ServiceError as error:
        if not g.account.codes_confirmed:  # from the codes step: stay on it
            return render_template("auth/codes_lost.html", error=error.message), error.status
        return _settings_page(error.message, error.status)
    return auth.show_codes(codes, fresh=False)


@bp.post("/passphrase")
@signed_in
def change_passphrase():
    """Change the passphrase; other sessions end."""
    try:
        result = accounts.change_passphrase(
            g.account,
            form_text("current"),
            form_text("passphrase"),
            form_text("passphrase2"),
            g.auth_session,
        )
    except ServiceError as error:
        return _settings_page(error.message, error.status)
    sessions.set_cookie_after(result.token)
    flash(_("Your passphrase is changed. Other sessions were ended."), "success")
    return redirect(url_for("account.settings"), code=303)


@bp.post("/preferences")
@signed_in
def preferences():
    """Discreet mode and language."""
    try:
        accounts.set_preferences(
            g.account,
            discreet=form_flag("discreet"),
            locale=form_text("locale"),
            time_zone=form_text("time_zone"),
        )
    except ServiceError as error:
        return _settings_page(error.message, error.status)
    # The device follows (forum/discreet.py): on, always; off, only where the device had
    # chosen a look (saving a language on a device that never chose keeps its head neutral).
    if g.account.discreet or discreet.chosen_on_this_device():
        discreet.remember_after(g.account.discreet)
    refresh()  # the flash below in the language just chosen
    flash(_("Saved."), "success")
    return redirect(url_for("account.settings"), code=303)


@bp.post("/delete")
@signed_in
def delete():
    """Delete the account now; content goes too unless asked to keep it."""
    keep = request.form.get("content") == "keep"
    try:
        accounts.delete_account(g.account, form_text("passphrase"), keep_content=keep)
    except ServiceError as error:
        return _settings_page(error.message, error.status)
    sessions.clear_cookie_after()
    session.clear()
    flash(_("Your account is deleted."), "info")
    return redirect(url_for("main.index"), code=303)
