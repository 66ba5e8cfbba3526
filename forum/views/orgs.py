"""Organisations: admins create them and add staff; staff create closed or hidden spaces."""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from forum import orgs
from forum.errors import Forbidden
from forum.errors import NotFound
from forum.errors import ServiceError
from forum.views.guards import form_text
from forum.views.guards import int_arg
from forum.views.guards import not_found_stays_missing
from forum.views.guards import signed_in

bp = Blueprint("orgs", __name__, url_prefix="/orgs")


@bp.route("", methods=["GET", "POST"])
@signed_in
def index():
    """Admins: every organisation and a form for a new one; staff: their own."""
    if request.method == "GET":
        return render_template(
            "orgs/list.html", listing=orgs.list_orgs(g.account, int_arg("page")), form={}
        )
    try:
        org = orgs.create_org(
            g.account,
            name=form_text("name"),
            slug=form_text("slug"),
            description=form_text("description"),
        )
    except ServiceError as error:
        if isinstance(error, Forbidden):
            raise
        return render_template(
            "orgs/list.html",
            listing=orgs.list_orgs(g.account, 1),
            form=request.form,
            error=error.message,
        ), error.status
    return redirect(url_for("orgs.show", slug=org.id), code=303)


def _org_page(slug: int | str, error: str | None = None, status: int = 200):
    org, staff = orgs.list_staff(g.account, slug, int_arg("page"))
    return render_template(
        "orgs/org.html",
        org=org,
        staff=staff,
        org_spaces=orgs.list_org_spaces(g.account, slug),
        error=error,
    ), status


@bp.get("/<space:slug>")
@signed_in
def show(slug: int | str):
    return _org_page(slug)


@bp.post("/<space:slug>/staff")
@signed_in
def add_staff(slug: int | str):
    try:
        org = orgs.add_staff(g.account, slug, form_text("alias"))
    except ServiceError as error:
        if isinstance(error, (NotFound, Forbidden)):
            raise
        return _org_page(slug, error.message, error.status)
    flash(_("Added to staff."), "success")
    return redirect(url_for("orgs.show", slug=org.id), code=303)


@bp.post("/<space:slug>/staff/<int:account_id>/remove")
@signed_in
def remove_staff(slug: int | str, account_id: int):
    org = orgs.remove_staff(g.account, slug, account_id)
    flash(_("Removed from staff."), "success")
    return redirect(url_for("orgs.show", slug=org.id), code=303)


@bp.route("/<space:slug>/spaces/new", methods=["GET", "POST"])
@signed_in
def new_space(slug: int | str):
    """Staff create a closed or hidden space and own it."""
    org = orgs.access_org(g.account, slug)
    action = url_for("orgs.new_space", slug=org.id)
    kinds = ("closed", "hidden")
    if request.method == "GET":
        return render_template(
            "spaces/form.html", form={"kind": "closed"}, action=action, kinds=kinds, org=org
        )
    try:
        space = orgs.create_org_space(
            g.account,
            slug,
            name=form_text("name"),
            slug=form_text("slug"),
            description=form_text("description"),
            rules=form_text("rules"),
            kind=form_text("kind"),
            join_question=form_text("join_question"),
        )
    except ServiceError as error:
        not_found_stays_missing(error)
        return render_template(
            "spaces/form.html",
            form=request.form,
            action=action,
            kinds=kinds,
            org=org,
            error=error.message,
        ), error.status
    return redirect(url_for("spaces.show", slug=space.id), code=303)
