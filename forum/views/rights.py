"""Rights and services pages of a space: thin adapters over ``forum.safety.rights``."""

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
from forum import markdown
from forum.errors import ServiceError
from forum.safety import rights
from forum.views.guards import form_text
from forum.views.guards import not_found_stays_missing
from forum.views.guards import signed_in

bp = Blueprint("rights", __name__)


def _fields() -> dict:
    return {
        "title": form_text("title"),
        "body": form_text("body"),
        "reviewed_on": form_text("reviewed_on"),
        "review_days": form_text("review_days"),
    }


def _page_form(
    acc: access.SpaceAccess, form: object, view: object, error: ServiceError | None = None
):
    """The page form, empty, filled, or again with what was refused ("not found" stays the
    missing page)."""
    if error is not None:
        not_found_stays_missing(error)
    return render_template(
        "safety/page_form.html",
        acc=acc,
        space=acc.space,
        form=form,
        view=view,
        error=error.message if error else None,
    ), (error.status if error else 200)


@bp.get("/s/<space:slug>/pages")
@signed_in
def index(slug: str):
    acc, pages = rights.list_pages(g.account, slug)
    return render_template("safety/pages.html", acc=acc, space=acc.space, pages=pages)


@bp.get("/s/<space:slug>/pages/<space:page_slug>")
@signed_in
def show(slug: int | str, page_slug: int | str):
    acc, view = rights.get_page(g.account, slug, page_slug)
    return render_template(
        "safety/page.html", acc=acc, space=acc.space, view=view, render=markdown.render
    )


@bp.route("/s/<space:slug>/pages/new", methods=["GET", "POST"])
@signed_in
def new(slug: str):
    acc = access.access_space(g.account, slug)
    acc.require_role("moderator")
    if request.method == "GET":
        return _page_form(acc, {}, None)
    try:
        row = rights.create_page(g.account, slug, **_fields())
    except ServiceError as error:
        return _page_form(acc, request.form, None, error)
    flash(_("Page saved."), "success")
    return redirect(url_for("rights.show", slug=acc.space.id, page_slug=row.id), code=303)


@bp.route("/s/<space:slug>/pages/<space:page_slug>/edit", methods=["GET", "POST"])
@signed_in
def edit(slug: int | str, page_slug: int | str):
    acc, view = rights.get_page(g.account, slug, page_slug)
    acc.require_role("moderator")
    if request.method == "GET":
        page = view.page
        form = {
            "title": page.title,
            "body": page.body,
            "reviewed_on": page.reviewed_on.isoformat(),
            "review_days": str(page.review_days),
        }
        return _page_form(acc, form, view)
    try:
        rights.update_page(g.account, slug, page_slug, **_fields())
    except ServiceError as error:
        return _page_form(acc, request.form, view, error)
    flash(_("Page saved."), "success")
    return redirect(url_for("rights.show", slug=acc.space.id, page_slug=view.page.id), code=303)


@bp.post("/s/<space:slug>/pages/<space:page_slug>/delete")
@signed_in
def delete(slug: int | str, page_slug: int | str):
    acc = rights.delete_page(g.account, slug, page_slug)
    flash(_("Page deleted."), "success")
    return redirect(url_for("rights.index", slug=acc.space.id), code=303)
