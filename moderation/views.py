"""HTTP adapters for moderation: thin, every rule lives in the services."""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from forum import access
from forum import clock
from forum.errors import Invalid
from forum.errors import NotFound
from forum.views.guards import form_flag
from forum.views.guards import form_text
from forum.views.guards import int_arg
from forum.views.guards import signed_in
from moderation import actions
from moderation import appeals
from moderation import blocks
from moderation import flags
from moderation import modlog
from moderation import notices
from moderation import targets
from moderation import watchwords
from moderation.models import REASONS
from moderation.models import WORD_ACTIONS

bp = Blueprint("moderation", __name__)


def _form_id(name: str) -> int:
    """An id from a form field, as the URL converter takes one: else "not found"."""
    raw = request.form.get(name, "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise NotFound()
    return access.row_id(int(raw))


@bp.post("/t/<int:thread_id>/pin")
@signed_in
def pin(thread_id: int):
    """The thread page's Pin/Unpin button (moderators; logged)."""
    actions.set_pinned(g.account, thread_id, form_flag("on"))
    return redirect(url_for("threads.show", thread_id=thread_id), code=303)


@bp.post("/t/<int:thread_id>/lock")
@signed_in
def lock(thread_id: int):
    """The thread page's Lock/Unlock button (moderators; logged)."""
    actions.set_locked(g.account, thread_id, form_flag("on"))
    return redirect(url_for("threads.show", thread_id=thread_id), code=303)


@bp.get("/notices")
@signed_in
def notice_list():
    page = int_arg("page")
    rows, has_next = notices.list_for(g.account, page)
    new = {row.id for row in rows if not row.seen}
    notices.mark_seen(g.account, rows)  # before the header counts them
    return render_template(
        "moderation/notices.html",
        notices=rows,
        words=notices.words(rows),
        new=new,
        page=page,
        has_next=has_next,
    )


@bp.route("/flag/<kind>/<int:target_id>", methods=["GET", "POST"])
@signed_in
def flag(kind: str, target_id: int):
    """GET: the form (only for what you can see). POST: flag it."""
    if request.method == "GET":
        target, _access = targets.load(g.account, kind, target_id)
        return render_template("moderation/flag.html", target=target, reasons=REASONS)
    result = flags.flag(g.account, kind, target_id, form_text("reason"), form_text("note"))
    flash(
        _("Thank you. The moderators will look at it. It is hidden for now.")
        if result.hidden
        else _("Thank you. The moderators will look at it."),
        "success",
    )
    return redirect(back_after_flag(result), code=303)


def back_after_flag(result: flags.FlagResult) -> str:
    """Where the flagger was: the post, thread, chat room, conversation or report.

    Something hidden now is no longer shown to the flagger: then the page around it
    (the thread for a post, the space for a thread, the reports for a report).
    """
    target, space = result.target, result.space
    if target is None or space is None:
        return url_for("spaces.index")
    obj = target.obj
    if target.kind == "post":
        anchor = None if result.hidden else f"p{obj.id}"
        return url_for("threads.show", thread_id=obj.thread_id, _anchor=anchor)
    if target.kind == "thread":
        if result.hidden:
            return url_for("spaces.show", slug=space.id)
        return url_for("threads.show", thread_id=obj.id)
    if target.kind == "chat":
        return url_for("chat.room", slug=space.id, room_id=obj.room_id, _anchor="chat")
    if target.kind == "dm":
        return url_for("buddies.conversation", buddy_id=obj.buddy_id)
    if target.kind == "report" and not result.hidden:
        return url_for("safety.show", report_id=obj.id)
    return url_for("safety.reports", slug=space.id)


@bp.post("/block/<kind>/<int:target_id>")
@signed_in
def block(kind: str, target_id: int):
    row = blocks.block(g.account, kind, target_id)
    flash(
        _(
            "You won't see %(blocked_name)s any more. They are not told.",
            blocked_name=row.blocked_name,
        ),
        "success",
    )
    return redirect(url_for("moderation.block_list"), code=303)


@bp.get("/account/blocks")
@signed_in
def block_list():
    page = int_arg("page")
    rows, has_next = blocks.list_blocks(g.account, page)
    return render_template("moderation/blocks.html", blocks=rows, page=page, has_next=has_next)


@bp.post("/account/blocks/<int:block_id>/undo")
@signed_in
def unblock(block_id: int):
    blocks.unblock(g.account, block_id)
    flash(_("Block undone."), "success")
    return redirect(url_for("moderation.block_list"), code=303)


@bp.get("/s/<space:slug>/mod/queue")
@signed_in
def queue(slug: str):
    page = int_arg("page")
    space_access, items, has_next = actions.review_queue(g.account, slug, page)
    return render_template(
        "moderation/queue.html",
        space=space_access.space,
        items=items,
        page=page,
        has_next=has_next,
        mute_hours=actions.MUTE_HOURS,
        suspend_days=actions.SUSPEND_DAYS,
    )


ACTS = {
    "keep": lambda a, s, k, i: actions.keep(a, s, k, i, form_text("reason")),
    "hide": lambda a, s, k, i: actions.hide(a, s, k, i, form_text("reason")),
    "delete": lambda a, s, k, i: actions.delete(a, s, k, i, form_text("reason")),
    "redact": lambda a, s, k, i: actions.redact(a, s, k, i, form_text("text"), form_text("reason")),
    "lock": lambda a, s, k, i: actions.lock_thread(a, s, k, i, form_text("reason")),
    "mute": lambda a, s, k, i: actions.mute(a, s, k, i, form_text("hours"), form_text("reason")),
    "remove": lambda a, s, k, i: actions.remove_member(a, s, k, i, form_text("reason")),
    "suspend": lambda a, s, k, i: actions.suspend(
        a, s, k, i, form_text("days"), form_text("reason")
    ),
}


@bp.post("/s/<space:slug>/mod/act")
@signed_in
def act(slug: str):
    """One moderator action on one item (or on its author)."""
    action = ACTS.get(form_text("action"))
    if action is None:
        raise Invalid(_("Please choose an action."))
    action(g.account, slug, form_text("kind"), _form_id("id"))
    flash(_("Done. It is in the moderation log."), "success")
    return redirect(url_for("moderation.queue", slug=slug), code=303)


@bp.get("/s/<space:slug>/mod/log")
@signed_in
def log(slug: str):
    page = int_arg("page")
    space_access, lines, has_next = modlog.read(g.account, slug, page)
    return render_template(
        "moderation/log.html", space=space_access.space, lines=lines, page=page, has_next=has_next
    )


@bp.route("/s/<space:slug>/mod/words", methods=["GET", "POST"])
@signed_in
def words(slug: str):
    if request.method == "POST":
        watchwords.add_word(g.account, slug, form_text("pattern"), form_text("action"))
        flash(_("Added."), "success")
        return redirect(url_for("moderation.words", slug=slug), code=303)
    page = int_arg("page")
    space_access, rows, has_next = watchwords.list_words(g.account, slug, page)
    return render_template(
        "moderation/words.html",
        space=space_access.space,
        words=rows,
        page=page,
        has_next=has_next,
        word_actions=WORD_ACTIONS,
    )


@bp.post("/s/<space:slug>/mod/words/<int:word_id>/delete")
@signed_in
def word_delete(slug: str, word_id: int):
    watchwords.remove_word(g.account, slug, word_id)
    flash(_("Removed."), "success")
    return redirect(url_for("moderation.words", slug=slug), code=303)


@bp.get("/s/<space:slug>/mod/appeals")
@signed_in
def appeal_list(slug: str):
    page = int_arg("page")
    space_access, rows, has_next = appeals.open_appeals(g.account, slug, page)
    return render_template(
        "moderation/appeals.html",
        space=space_access.space,
        appeals=rows,
        page=page,
        has_next=has_next,
        labels=modlog.ACTION_LABELS,
        reason_words=modlog.reason_words,
        now=clock.now(),
    )


@bp.post("/s/<space:slug>/mod/appeals/<int:appeal_id>/decide")
@signed_in
def decide(slug: str, appeal_id: int):
    appeals.decide(g.account, slug, appeal_id, form_text("outcome"), form_text("reason"))
    flash(_("Decided. The member is told."), "success")
    return redirect(url_for("moderation.appeal_list", slug=slug), code=303)


@bp.route("/s/<space:slug>/mod/appeal/<int:action_id>", methods=["GET", "POST"])
@signed_in
def appeal(slug: str, action_id: int):
    """The author's appeal form for one action against them."""
    action, space_access, existing = appeals.appealable_action(g.account, action_id)
    if slug not in (space_access.space.id, space_access.space.slug):
        raise NotFound()
    if request.method == "POST":
        appeals.appeal(g.account, action_id, form_text("text"))
        flash(
            _("Your appeal is sent. Another moderator will decide, and you will get a notice."),
            "success",
        )
        return redirect(url_for("moderation.notice_list"), code=303)
    return render_template(
        "moderation/appeal.html",
        space=space_access.space,
        action=action,
        existing=existing,
        labels=modlog.ACTION_LABELS,
        reason_words=modlog.reason_words,
        status_labels=appeals.STATUS_LABELS,
        deadline=appeals.deadline(action),
        now=clock.now(),
    )
