"""A space's retention settings: GET/POST /s/<space:slug>/retention (owners only)."""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from forum import retention
from forum.errors import Invalid
from forum.views.guards import form_flag
from forum.views.guards import form_text
from forum.views.guards import signed_in

bp = Blueprint("retention", __name__)


@bp.app_template_global("retention_line")
def retention_line(space) -> str:
    """For space pages: the sentence saying how long this space keeps things."""
    return retention.describe(space)


@bp.route("/s/<space:slug>/retention", methods=["GET", "POST"])
@signed_in
def space_retention(slug: str):
    """Show or change how long this space keeps chat and posts."""
    space = retention.owned_space(g.account, slug)
    error, status = None, 200
    if request.method == "POST":
        post_days = None if form_flag("keep_posts") else form_text("post_days")
        try:
            retention.set_retention(
                g.account,
                space,
                form_text("chat_hours"),
                post_days,
                apply_to_existing=form_flag("apply"),
            )
        except Invalid as invalid:
            error, status = invalid.message, invalid.status
        else:
            flash(_("Saved. New messages and posts follow the new settings."), "success")
            return redirect(url_for("retention.space_retention", slug=space.id), code=303)
    return (
        render_template(
            "spaces/retention.html",
            space=space,
            bounds=retention.bounds(),
            chat_hours=request.form.get("chat_hours", retention.chat_hours(space)),
            post_days=request.form.get("post_days", retention.post_days(space) or ""),
            error=error,
        ),
        status,
    )
