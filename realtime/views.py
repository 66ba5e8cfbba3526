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
from markupsafe import Markup
from markupsafe import escape

from forum import expiry
from forum import i18n
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


@bp.app_template_global("chat_rows")
def chat_rows(messages, me, words, csrf_field, flag_url, block_url) -> Markup:
    """The room page's messages, ``<li>`` after ``<li>``, as the template's loop wrote them
    (static/js/chat.js builds the same markup for live messages).

    In Python, not a Jinja loop: Jinja's per-row machinery (attribute lookups through the
    environment, its undefined checks, a generator step per piece) was most of the ~25 us a
    row took, for fifty rows a page (py-spy, docs/PERFORMANCE.md). Every value a row puts in
    goes through ``escape`` as Jinja's autoescape would send it: the stored name, the HTML
    (``Markup``: unchanged), the numbers, the time words. ``words`` (the menu's four labels),
    ``csrf_field`` and the links (``RowUrl``) come from the template, the words and the field
    escaped here once a page, each row's links as the row makes them.
    ``me``: the reader's id (None signed out): no menu on their own messages, none signed out.
    """
    w_menu, w_actions, w_flag, w_block = (escape(w) for w in words)
    csrf_field = escape(csrf_field)
    out = []
    add = out.append
    for m in messages:
        seq = escape(m.seq)
        expires = escape(i18n.instant(m.expires_at))
        add(
            f'\n<li class="chat-msg" id="m-{seq}" data-id="{escape(m.id)}" data-seq="{seq}"'
            f' data-expires="{expires}">\n  '
        )
        if me and m.author_id != me:
            add(
                f'\n  <details class="chat-msg-menu">\n    <summary title="{w_menu}">'
                f'<span aria-hidden="true">…</span><span class="visually-hidden">{w_actions}'
                f'</span></summary>\n    <a href="{escape(flag_url[m.id])}">{w_flag}</a>'
                f'\n    <form class="inline-form chat-block" method="post"'
                f' action="{escape(block_url[m.id])}">\n      {csrf_field}'
                f'<button class="button-secondary" type="submit">{w_block}</button>'
                "\n    </form>\n  </details>\n  "
            )
        add(
            f'\n  <span class="chat-msg-author">{escape(i18n.shown_name(m.author_name))}</span>'
            f'\n  <span class="chat-msg-body">{escape(m.html)}</span>'
            f'\n  <span class="chat-msg-time">{escape(i18n.time_tag(m.created_at, "time"))}'
            f'\n  · <span class="expires" data-expires-at="{expires}">'
            f"{escape(expiry.disappears_in(m.expires_at))}</span></span>\n</li>\n      "
        )
    # Every piece above is markup written here or a value escaped on its way in.
    return Markup("".join(out))  # nosec B704  # nosemgrep: semgrep.markup-on-user-text
