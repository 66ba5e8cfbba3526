"""Safety pages: bad-date reports and "check before you meet". Thin adapters over
``forum.safety.baddates``; a NotFound from a service is re-raised untouched so a
space one may not see answers exactly like a missing one."""

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
from forum.errors import NotFound
from forum.errors import ServiceError
from forum.safety import alerts as alerts_service
from forum.safety import baddates
from forum.safety import identifiers
from forum.views.guards import form_flag
from forum.views.guards import form_text
from forum.views.guards import int_arg
from forum.views.guards import not_found_stays_missing
from forum.views.guards import signed_in

bp = Blueprint("safety", __name__)

LOOKUP_KINDS = ("any", *identifiers.KINDS)


def _form_page(
    acc: access.SpaceAccess,
    form: object,
    error: str | None = None,
    status: int = 200,
    findings: list[str] | None = None,
):
    return render_template(
        "safety/report_new.html",
        space=acc.space,
        acc=acc,
        form=form,
        error=error,
        findings=findings or [],
        categories=baddates.CATEGORIES,
        parts=baddates.PARTS_OF_DAY,
        is_staff=baddates.is_org_staff(g.account, acc.space),
        limits=baddates,
    ), status


@bp.get("/s/<space:slug>/reports")
@signed_in
def reports(slug: str):
    """Published reports in a space, for its members."""
    listing = baddates.list_reports(g.account, slug, int_arg("page"))
    return render_template(
        "safety/reports.html",
        listing=listing,
        space=listing.access.space,
        acc=listing.access,
        labels=baddates.CODE_LABELS,
        parts=baddates.PARTS_OF_DAY,
    )


@bp.route("/s/<space:slug>/reports/new", methods=["GET", "POST"])
@signed_in
def new_report(slug: str):
    """The report form (members of the space)."""
    acc = access.access_space(g.account, slug)
    if request.method == "GET":
        acc.require_write()
        return _form_page(acc, {})
    typed = baddates.Typed(
        form_text("phones"), form_text("handles"), form_text("emails"), form_text("plates")
    )
    try:
        report = baddates.file_report(
            g.account,
            slug,
            happened_on=form_text("happened_on"),
            part_of_day=form_text("part_of_day"),
            area=form_text("area"),
            categories=request.form.getlist("what"),
            body=form_text("body"),
            typed=typed,
            for_worker=form_flag("for_worker"),
            consent=form_flag("consent"),
            confirm_identifiers=form_flag("confirm_identifiers"),
        )
    except ServiceError as error:
        not_found_stays_missing(error)
        return _form_page(
            acc, request.form, error.message, error.status, getattr(error, "findings", None)
        )
    if report.status == "published":
        flash(_("Thank you. Your report is published to the space's members."), "success")
    else:
        flash(
            _("Thank you. Your report waits for a moderator or trusted member to approve it."),
            "info",
        )
    return redirect(url_for("safety.reports", slug=acc.space.id), code=303)


@bp.get("/s/<space:slug>/reports/pending")
@signed_in
def pending(slug: str):
    """Reports waiting for approval (moderators and trusted members)."""
    acc, page = baddates.pending(g.account, slug, int_arg("page"))
    names = {r.id: baddates.reporter_name(r, acc) for r in page.items}
    return render_template(
        "safety/pending.html",
        space=acc.space,
        acc=acc,
        page=page,
        names=names,
        labels=baddates.CODE_LABELS,
        parts=baddates.PARTS_OF_DAY,
    )


@bp.get("/reports/<int:report_id>")
@signed_in
def show(report_id: int):
    report, acc = baddates.access_report(g.account, report_id)
    return render_template(
        "safety/report.html",
        report=report,
        acc=acc,
        space=acc.space,
        reporter=baddates.reporter_name(report, acc),
        labels=baddates.CODE_LABELS,
        parts=baddates.PARTS_OF_DAY,
        may_decide=baddates.may_decide(g.account, report, acc),
    )


@bp.post("/reports/<int:report_id>/approve")
@signed_in
def approve(report_id: int):
    report = baddates.approve(g.account, report_id)
    flash(_("Published."), "success")
    return redirect(url_for("safety.pending", slug=report_slug(report.space_id)), code=303)


@bp.post("/reports/<int:report_id>/reject")
@signed_in
def reject(report_id: int):
    report, acc = baddates.access_report(g.account, report_id)
    slug = acc.space.id
    baddates.reject(g.account, report.id)
    flash(_("Turned down and deleted."), "success")
    return redirect(url_for("safety.pending", slug=slug), code=303)


@bp.post("/reports/<int:report_id>/withdraw")
@signed_in
def withdraw(report_id: int):
    report, acc = baddates.access_report(g.account, report_id)
    slug = acc.space.id
    baddates.withdraw(g.account, report.id)
    flash(_("Your report is deleted."), "success")
    return redirect(url_for("safety.reports", slug=slug), code=303)


def report_slug(space_id: int) -> int:
    return access.access_space_by_id(g.account, space_id).space.id


@bp.route("/check", methods=["GET", "POST"])
@signed_in
def check():
    """Check before you meet: a POST, so what was typed never lands in the browser's history."""
    if request.method == "GET":
        return render_template(
            "safety/check.html", result=None, kinds=LOOKUP_KINDS, value="", kind="any"
        )
    value, kind = form_text("value"), form_text("kind") or "any"
    try:
        result = baddates.lookup(g.account, value, kind)
    except ServiceError as error:
        return render_template(
            "safety/check.html",
            result=None,
            kinds=LOOKUP_KINDS,
            value=value[:100],
            kind=kind if kind in LOOKUP_KINDS else "any",
            error=error.message,
        ), error.status
    return render_template(
        "safety/check.html",
        result=result,
        kinds=LOOKUP_KINDS,
        value=value,
        kind=kind,
        labels=baddates.CODE_LABELS,
        parts=baddates.PARTS_OF_DAY,
    )


@bp.route("/s/<space:slug>/safety-settings", methods=["GET", "POST"])
@signed_in
def settings(slug: str):
    """Owners: the region for phone numbers, publication, expiry."""
    acc = access.access_space(g.account, slug)
    acc.require_role("owner")
    row = baddates.settings_for(acc.space.id)
    if request.method == "GET":
        return render_template("safety/settings.html", space=acc.space, row=row, form=None)
    try:
        baddates.update_settings(
            g.account,
            slug,
            region=form_text("region"),
            trusted_publish=form_flag("trusted_publish"),
            report_days=form_text("report_days"),
            alert_hours=form_text("alert_hours"),
        )
    except ServiceError as error:
        not_found_stays_missing(error)
        return render_template(
            "safety/settings.html", space=acc.space, row=row, form=request.form, error=error.message
        ), error.status
    flash(_("Saved."), "success")
    return redirect(url_for("safety.settings", slug=slug), code=303)


@bp.route("/s/<space:slug>/alerts", methods=["GET", "POST"])
@signed_in
def alerts(slug: str):
    """Urgent alerts in a space: see them, raise one (trust level 1 or more)."""
    if request.method == "POST":
        try:
            alerts_service.raise_alert(g.account, slug, form_text("body"))
        except ServiceError as error:
            not_found_stays_missing(error)
            acc, rows = alerts_service.list_for_space(g.account, slug)
            return render_template(
                "safety/alerts.html",
                acc=acc,
                space=acc.space,
                rows=rows,
                error=error.message,
                body=form_text("body")[: alerts_service.MAX_BODY],
            ), error.status
        flash(_("Alert sent to the space's members."), "success")
        return redirect(url_for("safety.alerts", slug=slug), code=303)
    acc, rows = alerts_service.list_for_space(g.account, slug)
    return render_template("safety/alerts.html", acc=acc, space=acc.space, rows=rows, body="")


@bp.post("/alerts/<int:alert_id>/<action>")
@signed_in
def alert_action(alert_id: int, action: str):
    """confirm ("I saw this too"), dismiss (the banner), remove (moderators)."""
    act = {"confirm": alerts_service.confirm, "dismiss": alerts_service.dismiss}.get(action)
    if act is not None:
        row = act(g.account, alert_id)
        slug = access.access_space_by_id(g.account, row.space_id).space.id
    elif action == "remove":
        space_id = alerts_service.remove(g.account, alert_id, form_text("reason"))
        slug = access.access_space_by_id(g.account, space_id).space.id
        flash(_("Removed."), "success")
    else:
        raise NotFound()
    return redirect(url_for("safety.alerts", slug=slug), code=303)
