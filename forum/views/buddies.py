"""Buddies, check-ins and direct messages: thin adapters over ``forum.safety``."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask import Blueprint
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from forum import clock
from forum import spaces
from forum.errors import ServiceError
from forum.safety import buddies
from forum.safety import checkins
from forum.safety import messages
from forum.views.guards import form_text
from forum.views.guards import not_found_stays_missing
from forum.views.guards import signed_in

bp = Blueprint("buddies", __name__)

MINUTE_CHOICES = (15, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720)


def _buddies_page(error: str | None = None, status: int = 200, form: object = None):
    return render_template(
        "safety/buddies.html",
        views=buddies.list_for(g.account),
        hours=buddies.DM_HOURS,
        spaces=spaces.my_spaces(g.account, 1).items,
        form=form or {},
        error=error,
    ), status


def _hub(error: str | None = None, status: int = 200, form: object = None):
    return render_template(
        "safety/checkin.html",
        mine=checkins.mine(g.account),
        friends=buddies.accepted_of(g.account),
        orgs=checkins.org_contacts_for(g.account),
        minutes=MINUTE_CHOICES,
        form=form or {},
        error=error,
        now=clock.now(),
    ), status


@bp.get("/checkin")
@signed_in
def hub():
    """Start a check-in; see the running ones."""
    return _hub()


def _shown_on(page: Callable[..., Any], error: ServiceError, *form: Any) -> Any:
    """A refused form: its page again with the message. "Not found" stays the missing
    page (what is not yours is not there), except "nobody goes by that name", which is
    the buddy form's own answer."""
    if error.message != str(buddies.NOBODY):
        not_found_stays_missing(error)
    return page(error.message, error.status, *form)


@bp.post("/checkin/start")
@signed_in
def start():
    try:
        checkins.start(
            g.account,
            minutes=form_text("minutes"),
            buddy_ids=request.form.getlist("buddy"),
            org_ids=request.form.getlist("org"),
            note=form_text("note"),
        )
    except ServiceError as error:
        return _hub(error.message, error.status, request.form)
    flash(_("Check-in started. Check in before the time is up."), "success")
    return redirect(url_for("buddies.hub"), code=303)


@bp.post("/checkin/<int:checkin_id>/safe")
@signed_in
def safe(checkin_id: int):
    checkins.safe(g.account, checkin_id)
    flash(_("Checked in. Glad you are safe."), "success")
    return redirect(url_for("buddies.hub"), code=303)


@bp.post("/checkin/<int:checkin_id>/extend")
@signed_in
def extend(checkin_id: int):
    try:
        checkins.extend(g.account, checkin_id, form_text("minutes"))
    except ServiceError as error:
        return _shown_on(_hub, error)
    flash(_("Extended."), "success")
    return redirect(url_for("buddies.hub"), code=303)


@bp.post("/checkin/<int:checkin_id>/help")
@signed_in
def help_now(checkin_id: int):
    checkins.help_now(g.account, checkin_id)
    flash(_("Your contacts are alerted now."), "info")
    return redirect(url_for("buddies.hub"), code=303)


@bp.get("/checkin/alert/<int:checkin_id>")
@signed_in
def alert(checkin_id: int):
    """A contact opens an alert (this also stops its banner for them)."""
    shown = checkins.open_alert(g.account, checkin_id)
    return render_template("safety/alert.html", alert=shown)


@bp.get("/buddies")
@signed_in
def index():
    return _buddies_page()


@bp.post("/buddies/ask")
@signed_in
def ask():
    """Ask a member of a shared space, by the name they use there."""
    try:
        buddies.ask(g.account, form_text("space"), form_text("name"))
    except ServiceError as error:
        return _shown_on(_buddies_page, error, request.form)
    flash(_("Asked. Nothing happens until they say yes."), "success")
    return redirect(url_for("buddies.index"), code=303)


@bp.post("/buddies/<int:buddy_id>/accept")
@signed_in
def accept(buddy_id: int):
    buddies.accept(g.account, buddy_id)
    flash(_("You are buddies now."), "success")
    return redirect(url_for("buddies.index"), code=303)


@bp.post("/buddies/<int:buddy_id>/end")
@signed_in
def end(buddy_id: int):
    buddies.end(g.account, buddy_id)
    flash(_("Done. They are not told."), "success")
    return redirect(url_for("buddies.index"), code=303)


def _conversation(buddy_id: int, error: str | None = None, status: int = 200, body: str = ""):
    found = messages.conversation(g.account, buddy_id)
    return render_template(
        "safety/conversation.html",
        convo=found,
        hours=buddies.DM_HOURS,
        error=error,
        body=body,
        client_id=secrets.token_urlsafe(16),
    ), status


@bp.get("/buddies/<int:buddy_id>/messages")
@signed_in
def conversation(buddy_id: int):
    """The pairing's messages (live with static/js/dm.js; complete without it)."""
    return _conversation(buddy_id)


@bp.post("/buddies/<int:buddy_id>/messages")
@signed_in
def send(buddy_id: int):
    try:
        messages.send(g.account, buddy_id, form_text("client_id"), form_text("body"))
    except ServiceError as error:
        not_found_stays_missing(error)
        return _conversation(
            buddy_id, error.message, error.status, form_text("body")[: messages.MAX_BODY]
        )
    return redirect(url_for("buddies.conversation", buddy_id=buddy_id, _anchor="dm"), code=303)


@bp.get("/buddies/<int:buddy_id>/messages/refresh")
@signed_in
def refresh(buddy_id: int):
    """Without JavaScript: the conversation again, at its newest messages.

    A URL of its own, as the chat room's: a link to the page's own URL and ``#dm`` would
    only scroll a page that already ends in ``#dm``, never load the new messages.
    """
    messages.conversation(g.account, buddy_id)  # not yours: "not found", as ever
    return redirect(url_for("buddies.conversation", buddy_id=buddy_id, _anchor="dm"), code=303)


@bp.post("/buddies/<int:buddy_id>/hours")
@signed_in
def hours(buddy_id: int):
    """Make this pairing's messages disappear sooner (from now on)."""
    try:
        buddies.set_dm_hours(g.account, buddy_id, form_text("hours"))
    except ServiceError as error:
        not_found_stays_missing(error)
        return _conversation(buddy_id, error.message, error.status)
    flash(_("New messages will disappear sooner."), "success")
    return redirect(url_for("buddies.conversation", buddy_id=buddy_id), code=303)
