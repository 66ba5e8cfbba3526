"""Chat pages: readable and usable without JavaScript; chat.js makes them live."""

from __future__ import annotations

import secrets

from flask import Blueprint
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from forum import markdown
from forum.errors import NotFound
from forum.errors import ServiceError
from forum.views.guards import form_flag
from forum.views.guards import form_text
from forum.views.guards import int_arg
from forum.views.guards import signed_in
from moderation import guard
from realtime import chat
from realtime import sockets

bp = Blueprint("chat", __name__)


def _room_page(
    slug: str,
    room_id: int,
    error: str | None = None,
    body: str = "",
    status: int = 200,
    findings: list | None = None,
    client_id: str | None = None,
):
    room, access, page = chat.latest(g.account, room_id, request.args.get("before"), slug=slug)
    count = sockets.online_count(room.id)  # the page shows the number, not the names
    return render_template(
        "chat/room.html",
        room=room,
        space=access.space,
        access=access,
        page=page,
        before=request.args.get("before"),
        online=count,
        error=error,
        body=body,
        client_id=client_id or secrets.token_urlsafe(12),
        findings=findings,
        limits=markdown,
    ), status


@bp.get("/s/<space:slug>/chat")
@signed_in
def rooms(slug: str):
    """The space's chat rooms; owners manage them here too."""
    access, rooms_page = chat.list_rooms(g.account, slug, int_arg("page"))
    return render_template(
        "chat/rooms.html",
        space=access.space,
        access=access,
        rooms=rooms_page.items,
        page=rooms_page.page,
        has_next=rooms_page.has_next,
    )


@bp.get("/s/<space:slug>/chat/<int:room_id>")
@signed_in
def room(slug: str, room_id: int):
    """The latest messages (or an older page with ?before=<seq>) and the send form."""
    return _room_page(slug, room_id)


@bp.post("/s/<space:slug>/chat/<int:room_id>")
@signed_in
def send(slug: str, room_id: int):
    """The no-JavaScript way to send: store, then back to the room."""
    chat.access_room(g.account, room_id, slug)  # a room in another space is "not found"
    body = form_text("body")
    try:
        message, _new = chat.post_message(
            g.account, room_id, form_text("client_id"), body, confirmed=form_flag("confirm")
        )
    except NotFound:
        raise
    except guard.NeedsConfirmation as error:  # the same client id, now with a "send anyway" box
        return _room_page(
            slug, room_id, error.message, body, error.status, error.details, form_text("client_id")
        )
    except ServiceError as error:
        return _room_page(slug, room_id, error.message, body, error.status)
    if message.hidden_at is not None:
        flash(str(chat.HELD), "info")
    return redirect(url_for("chat.room", slug=slug, room_id=room_id, _anchor="chat"), code=303)


@bp.get("/s/<space:slug>/chat/<int:room_id>/refresh")
@signed_in
def refresh(slug: str, room_id: int):
    """Without JavaScript: the room again, at its newest messages.

    A URL of its own because a link to the room's own URL and ``#chat`` would only
    scroll a page that already ends in ``#chat``, never load the new messages.
    """
    chat.access_room(g.account, room_id, slug)  # a hidden room is "not found", as ever
    return redirect(url_for("chat.room", slug=slug, room_id=room_id, _anchor="chat"), code=303)


@bp.post("/s/<space:slug>/chat/rooms")
@signed_in
def create(slug: str):
    """Owners: add a room."""
    new = chat.create_room(g.account, slug, form_text("name"))
    flash(_("Room “%(name)s” is ready.", name=new.name), "success")
    return redirect(url_for("chat.rooms", slug=slug), code=303)


@bp.post("/s/<space:slug>/chat/<int:room_id>/rename")
@signed_in
def rename(slug: str, room_id: int):
    """Owners: rename a room."""
    chat.rename_room(g.account, slug, room_id, form_text("name"))
    flash(_("Room renamed."), "success")
    return redirect(url_for("chat.rooms", slug=slug), code=303)


@bp.post("/s/<space:slug>/chat/<int:room_id>/archive")
@signed_in
def archive(slug: str, room_id: int):
    """Owners: archive a room (read-only), or bring it back."""
    changed = chat.archive_room(g.account, slug, room_id, archived=not form_flag("restore"))
    flash(_("Room archived.") if changed.archived_at else _("Room restored."), "success")
    return redirect(url_for("chat.rooms", slug=slug), code=303)


@bp.app_template_filter("chat_html")
def chat_html(message):
    """A stored message as safe inline HTML (rendered once, when it was written; the same
    HTML clients get)."""
    return message.html
