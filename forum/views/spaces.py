"""Spaces: list, page, join/leave/request, members and roles, settings, invites, requests.

Thin adapters over ``forum.spaces`` and ``forum.invites``. A ``NotFound`` from a
service is re-raised untouched, so a closed or hidden space answers a non-member
with the very page a missing one gives; other errors re-show the form with the
member's text kept and a 4xx status.
"""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from forum import access
from forum import invites
from forum import spaces
from forum import threads
from forum.errors import Forbidden
from forum.errors import ServiceError
from forum.views.guards import form_text
from forum.views.guards import int_arg
from forum.views.guards import not_found_stays_missing
from forum.views.guards import signed_in

bp = Blueprint("spaces", __name__)


@bp.get("/spaces")
@signed_in
def index():
    """Every space one may know of: open and closed ones, and hidden ones one is in."""
    listing = spaces.list_spaces(g.account, int_arg("page"))
    member_of = spaces.member_of(g.account, [space.id for space in listing.items])
    return render_template("spaces/list.html", listing=listing, member_of=member_of)


@bp.route("/spaces/new", methods=["GET", "POST"])
@signed_in
def new():
    """Admins create open spaces."""
    if not g.account.is_admin:
        raise Forbidden(_("Only the people who run this site can create open spaces."))
    if request.method == "GET":
        return render_template(
            "spaces/form.html", form={}, action=url_for("spaces.new"), kinds=("open",)
        )
    try:
        space = spaces.create_space(
            g.account,
            name=form_text("name"),
            slug=form_text("slug"),
            description=form_text("description"),
            rules=form_text("rules"),
            kind="open",
        )
    except ServiceError as error:
        return render_template(
            "spaces/form.html",
            form=request.form,
            error=error.message,
            action=url_for("spaces.new"),
            kinds=("open",),
        ), error.status
    return redirect(url_for("spaces.show", slug=space.id), code=303)


def _shell_page(acc: access.SpaceAccess, error: str | None = None, status: int = 200):
    return render_template(
        "spaces/shell.html",
        space=acc.space,
        pending=spaces.pending_request(g.account, acc.space),
        form=request.form if error else {},
        error=error,
    ), status


@bp.get("/s/<space:slug>")
@signed_in
def show(slug: str):
    """The space: rules, chat rooms and threads; for a closed space's non-members, the way in."""
    acc = access.access_space_shell(g.account, slug)
    if not acc.can_read:
        return _shell_page(acc)
    acc, listing = threads.list_threads(g.account, slug, int_arg("page"))
    return render_template("spaces/space.html", acc=acc, space=acc.space, listing=listing)


@bp.route("/s/<space:slug>/join", methods=["GET", "POST"])
@signed_in
def join(slug: str):
    """Join an open space, optionally under a name for this space only."""
    acc = access.access_space_shell(g.account, slug)
    if request.method == "GET":
        if acc.space.kind != "open" or acc.is_member:
            return redirect(url_for("spaces.show", slug=slug), code=303)
        return render_template("spaces/join.html", space=acc.space, form={})
    try:
        spaces.join_open(g.account, slug, form_text("space_alias"))
    except ServiceError as error:
        not_found_stays_missing(error)
        return render_template(
            "spaces/join.html", space=acc.space, form=request.form, error=error.message
        ), error.status
    flash(_("Welcome! You are a member now."), "success")
    return redirect(url_for("spaces.show", slug=slug), code=303)


@bp.post("/s/<space:slug>/request")
@signed_in
def ask(slug: str):
    """Ask to join a closed space."""
    try:
        spaces.request_join(g.account, slug, form_text("answer"), form_text("space_alias"))
    except ServiceError as error:
        not_found_stays_missing(error)
        return _shell_page(access.access_space_shell(g.account, slug), error.message, error.status)
    flash(_("Your request is sent. The moderators will decide soon."), "success")
    return redirect(url_for("spaces.show", slug=slug), code=303)


@bp.post("/s/<space:slug>/request/cancel")
@signed_in
def cancel_request(slug: str):
    spaces.cancel_request(g.account, slug)
    flash(_("Your request is withdrawn."), "info")
    return redirect(url_for("spaces.show", slug=slug), code=303)


@bp.post("/s/<space:slug>/leave")
@signed_in
def leave(slug: str):
    """Leave in one tap."""
    spaces.leave(g.account, slug)
    flash(_("You have left the space."), "info")
    return redirect(url_for("spaces.index"), code=303)


@bp.get("/s/<space:slug>/members")
@signed_in
def members(slug: str):
    acc, listing = spaces.list_members(g.account, slug, int_arg("page"))
    return render_template("spaces/members.html", acc=acc, space=acc.space, listing=listing)


@bp.post("/s/<space:slug>/members/<int:membership_id>/role")
@signed_in
def set_role(slug: str, membership_id: int):
    """Owners appoint or remove moderators and owners."""
    spaces.set_role(g.account, slug, membership_id, form_text("role"))
    flash(_("Role changed."), "success")
    return redirect(url_for("spaces.members", slug=slug), code=303)


@bp.route("/s/<space:slug>/settings", methods=["GET", "POST"])
@signed_in
def settings(slug: str):
    """Owners edit the space."""
    acc = access.access_space(g.account, slug)
    acc.require_role("owner")
    kinds = (
        ("open", "closed", "hidden")
        if g.account.is_admin or acc.space.kind == "open"
        else ("closed", "hidden")
    )
    if request.method == "GET":
        return render_template("spaces/settings.html", space=acc.space, form=acc.space, kinds=kinds)
    try:
        spaces.update_space(
            g.account,
            slug,
            name=form_text("name"),
            description=form_text("description"),
            rules=form_text("rules"),
            join_question=form_text("join_question"),
            kind=form_text("kind"),
        )
    except ServiceError as error:
        not_found_stays_missing(error)
        return render_template(
            "spaces/settings.html",
            space=acc.space,
            form=request.form,
            kinds=kinds,
            error=error.message,
        ), error.status
    flash(_("Saved."), "success")
    return redirect(url_for("spaces.show", slug=slug), code=303)


def _invites_page(slug: str, new=None, error: str | None = None, status: int = 200):
    acc, listing = invites.list_invites(g.account, slug, int_arg("page"))
    link = None
    if new is not None:
        link = current_app.config["RB_PUBLIC_ORIGIN"] + url_for("spaces.invite", code=new.code)
    return render_template(
        "spaces/invites.html",
        space=acc.space,
        listing=listing,
        link=link,
        state=invites.state,
        error=error,
        form=request.form if error else {},
    ), status


@bp.route("/s/<space:slug>/invites", methods=["GET", "POST"])
@signed_in
def invite_list(slug: str):
    """Owners list invites with their use counts, and make new ones (the link shows once)."""
    if request.method == "GET":
        return _invites_page(slug)
    try:
        new = invites.create_invite(
            g.account,
            slug,
            label=form_text("label"),
            max_uses=form_text("max_uses"),
            days=form_text("days"),
        )
    except ServiceError as error:
        not_found_stays_missing(error)
        if isinstance(error, Forbidden):
            raise
        return _invites_page(slug, error=error.message, status=error.status)
    return _invites_page(slug, new=new, status=201)


@bp.post("/s/<space:slug>/invites/<int:invite_id>/revoke")
@signed_in
def revoke_invite(slug: str, invite_id: int):
    invites.revoke_invite(g.account, slug, invite_id)
    flash(_("That invite link no longer works."), "success")
    return redirect(url_for("spaces.invite_list", slug=slug), code=303)


@bp.get("/s/<space:slug>/requests")
@signed_in
def requests(slug: str):
    """Moderators see join requests, each with the answer and the name asked for."""
    acc, listing = spaces.list_requests(g.account, slug, int_arg("page"))
    return render_template(
        "spaces/requests.html", space=acc.space, listing=listing, name_of=spaces.request_name
    )


@bp.post("/s/<space:slug>/requests/<int:request_id>")
@signed_in
def decide(slug: str, request_id: int):
    decision = form_text("decision")
    if decision not in ("approve", "decline"):
        acc = access.access_space(g.account, slug)  # 404 first for those who may not know the space
        acc.require_role("moderator")
        return render_template("error.html", message=_("Please choose approve or decline.")), 400
    spaces.decide_request(g.account, slug, request_id, decision == "approve")
    flash(
        _("Approved: they are a member now.") if decision == "approve" else _("Request declined."),
        "success",
    )
    return redirect(url_for("spaces.requests", slug=slug), code=303)


@bp.route("/invite/<code>", methods=["GET", "POST"])
@signed_in
def invite(code: str):
    """Open an invite link: see the space, choose a name for it, join."""
    _invite, space, membership = invites.find_invite(g.account, code)
    if membership is not None:
        flash(_("You are already a member of this space."), "info")
        return redirect(url_for("spaces.show", slug=space.id), code=303)
    if request.method == "GET":
        return render_template("spaces/invite.html", space=space, code=code, form={})
    try:
        invites.accept_invite(g.account, code, form_text("space_alias"))
    except ServiceError as error:
        not_found_stays_missing(error)
        if isinstance(error, invites.InviteUnusable):
            raise
        return render_template(
            "spaces/invite.html", space=space, code=code, form=request.form, error=error.message
        ), error.status
    flash(_("Welcome! You are a member now."), "success")
    return redirect(url_for("spaces.show", slug=space.id), code=303)
