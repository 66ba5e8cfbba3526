"""Threads and posts, search and updates: thin adapters over ``forum.threads``/``forum.search``."""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forum import access
from forum import markdown
from forum import retention
from forum import search as search_service
from forum import threads
from forum.errors import Forbidden
from forum.errors import NeedsConfirmation
from forum.errors import ServiceError
from forum.views.guards import form_flag
from forum.views.guards import form_text
from forum.views.guards import int_arg
from forum.views.guards import not_found_stays_missing
from forum.views.guards import signed_in

bp = Blueprint("threads", __name__)


def _findings(error: ServiceError) -> list[str]:
    """What the privacy guard found, for the form's "Post it anyway" box."""
    return error.details if isinstance(error, NeedsConfirmation) else []


def _confirmed() -> bool:
    return form_flag("confirm_identifiers")


HELD = _l("Thank you. It is waiting for a moderator to approve it before others can see it.")


@bp.route("/s/<space:slug>/t/new", methods=["GET", "POST"])
@signed_in
def new(slug: str):
    """Start a thread: a title and a first post."""
    acc = access.access_space(g.account, slug)
    if request.method == "GET":
        acc.require_write()
        return render_template("threads/new.html", space=acc.space, form={}, limits=markdown)
    try:
        thread = threads.create_thread(
            g.account,
            slug,
            title=form_text("title"),
            body=form_text("body"),
            content_warning=form_text("content_warning"),
            confirm_identifiers=_confirmed(),
        )
    except ServiceError as error:
        not_found_stays_missing(error)
        return render_template(
            "threads/new.html",
            space=acc.space,
            form=request.form,
            limits=markdown,
            error=error.message,
            findings=_findings(error),
        ), error.status
    if thread.hidden_at is not None:
        flash(str(HELD), "info")
        return redirect(url_for("spaces.show", slug=acc.space.id), code=303)
    return redirect(url_for("threads.show", thread_id=thread.id), code=303)


def _thread_page(
    thread_id: int, error: str | None = None, status: int = 200, findings: list[str] | None = None
):
    view = threads.view_thread(g.account, thread_id, int_arg("page"))
    return render_template(
        "threads/thread.html",
        view=view,
        thread=view.thread,
        acc=view.access,
        space=view.access.space,
        posts=view.posts,
        render=markdown.render,
        form=request.form if error else {},
        error=error,
        limits=markdown,
        findings=findings or [],
    ), status


@bp.get("/t/<int:thread_id>")
@signed_in
def show(thread_id: int):
    return _thread_page(thread_id)


@bp.post("/t/<int:thread_id>/reply")
@signed_in
def reply(thread_id: int):
    try:
        post = threads.reply(
            g.account,
            thread_id,
            body=form_text("body"),
            content_warning=form_text("content_warning"),
            confirm_identifiers=_confirmed(),
        )
    except ServiceError as error:
        not_found_stays_missing(error)
        return _thread_page(thread_id, error.message, error.status, _findings(error))
    if post.hidden_at is not None:
        flash(str(HELD), "info")
    return redirect(
        url_for("threads.show", thread_id=thread_id, page=_last_page(thread_id)) + f"#p{post.id}",
        code=303,
    )


def _last_page(thread_id: int) -> int:
    return threads.last_page(g.account, thread_id)


@bp.post("/t/<int:thread_id>/lifetime")
@signed_in
def lifetime(thread_id: int):
    """Make the thread disappear sooner (author or moderators; shorter only)."""
    try:
        retention.set_thread_lifetime(g.account, thread_id, form_text("days"))
    except ServiceError as error:
        not_found_stays_missing(error)
        return _thread_page(thread_id, error.message, error.status)
    flash(_("This thread will now disappear sooner."), "success")
    return redirect(url_for("threads.show", thread_id=thread_id), code=303)


@bp.post("/t/<int:thread_id>/follow")
@signed_in
def follow(thread_id: int):
    on = form_flag("on")
    threads.set_follow(g.account, thread_id, on)
    flash(
        _("You follow this thread: new replies show in your updates.")
        if on
        else _("You no longer follow this thread."),
        "success",
    )
    return redirect(url_for("threads.show", thread_id=thread_id), code=303)


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@signed_in
def edit(post_id: int):
    """Edit one's own post (and, for the first post, the thread's title)."""
    post, acc = access.access_post(g.account, post_id)
    if request.method == "GET":
        if post.author_id != g.account.id:
            raise Forbidden(_("You can only change your own posts."))
        form = {
            "body": post.body,
            "title": post.thread.title,
            "content_warning": (
                post.thread.content_warning if post.is_first else post.content_warning
            )
            or "",
        }
        return render_template(
            "threads/edit.html", post=post, space=acc.space, form=form, limits=markdown
        )
    was_hidden = post.hidden_at is not None
    try:
        threads.edit_post(
            g.account,
            post_id,
            body=form_text("body"),
            title=form_text("title"),
            content_warning=form_text("content_warning"),
            confirm_identifiers=_confirmed(),
        )
    except ServiceError as error:
        not_found_stays_missing(error)
        return render_template(
            "threads/edit.html",
            post=post,
            space=acc.space,
            form=request.form,
            limits=markdown,
            error=error.message,
            findings=_findings(error),
        ), error.status
    if post.thread.hidden_at is not None and not acc.has_role("moderator"):
        flash(str(HELD), "info")
        return redirect(url_for("spaces.show", slug=acc.space.id), code=303)
    if post.hidden_at is not None and not was_hidden:
        flash(str(HELD), "info")
    return redirect(url_for("threads.show", thread_id=post.thread_id) + f"#p{post_id}", code=303)


@bp.post("/p/<int:post_id>/delete")
@signed_in
def delete(post_id: int):
    """Delete one's own post now (no undo)."""
    post, acc = access.access_post(g.account, post_id)
    thread_id, slug = post.thread_id, acc.space.id
    whole_thread = threads.delete_post(g.account, post_id)
    flash(_("Your post is deleted."), "success")
    if whole_thread:
        return redirect(url_for("spaces.show", slug=slug), code=303)
    return redirect(url_for("threads.show", thread_id=thread_id), code=303)


@bp.get("/search")
@signed_in
def search():
    """Search in the spaces one belongs to."""
    query = request.args.get("q", "")
    try:
        results = search_service.search(
            g.account, query, int_arg("page", 1, 1, search_service.MAX_PAGE)
        )
    except ServiceError as error:
        return render_template(
            "search.html", results=None, query=query[:200], error=error.message
        ), error.status
    return render_template("search.html", results=results, query=results.query)


@bp.get("/updates")
@signed_in
def updates():
    """New replies in followed threads."""
    listing = threads.updates(g.account, int_arg("page"))
    return render_template("updates.html", listing=listing)
