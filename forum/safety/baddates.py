"""Bad-date reports and "check before you meet".

A member files a report in a space: when (date, part of day), a coarse area, what
happened (short codes, below), a description, and identifiers of the aggressor.
Identifiers are kept only as keyed hashes (``forum/safety/identifiers.py``).

Publication: a report is pending until a moderator or a trusted member (whose name
in the space is at trust level 2, ``moderation/trust.py``) approves it, and never by
its own reporter. A space may let reports by its moderators and trusted members
publish at once (``SafetySettings.trusted_publish``). Members never learn who
reported; moderators see the reporter's name in the space while the report is
pending.

Visibility (``access_report``): published, live, unhidden reports to the space's
members; pending ones to approvers and the reporter; hidden ones to moderators and
the reporter; to everyone else NotFound, exactly like a missing report.

Lookups ("check before you meet") are rate-limited per account and leave no trace:
nothing about who looked up what is written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from forum import access
from forum import clock
from forum import ratelimit
from forum import text
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.i18n import N_
from forum.models import Account
from forum.models import Membership
from forum.models import OrgStaff
from forum.models import Space
from forum.pagination import Page
from forum.pagination import paginate
from forum.safety import identifiers
from forum.safety import policy
from forum.safety.models import REPORT_PENDING
from forum.safety.models import REPORT_PUBLISHED
from forum.safety.models import BadDateIdentifier
from forum.safety.models import BadDateReport
from forum.safety.models import SafetySettings

# What happened: form key -> (short code, label). Codes are what a lookup shows first,
# readable at a glance on a small screen; the order is the order they are shown in.
CATEGORIES: dict[str, tuple[str, str]] = {
    "violence": ("VI", N_("Violence")),
    "sexual_assault": ("SA", N_("Sexual assault")),
    "robbery": ("RO", N_("Robbery")),
    "non_payment": ("NP", N_("Non-payment")),
    "condom": ("NC", N_("Condom refusal or removal")),
    "police": ("PO", N_("Police or police impersonation")),
    "stalking": ("ST", N_("Stalking")),
    "threats": ("TH", N_("Threats or outing")),
    "haggling": ("HG", N_("Haggling or short payment")),
    "other": ("OT", N_("Other")),
}
CODE_LABELS = {code: label for code, label in CATEGORIES.values()}
CODE_ORDER = [code for code, _label in CATEGORIES.values()]
PARTS_OF_DAY = {
    "morning": N_("Morning"),
    "afternoon": N_("Afternoon"),
    "evening": N_("Evening"),
    "night": N_("Night"),
}
MAX_BODY = 4000
MAX_AREA = 100
MAX_PER_KIND = 10
MAX_AGE = timedelta(days=366)  # how far back "when" may be
REPORT_DAYS = (7, 365)  # bounds for a space's report expiry
ALERT_HOURS = (1, 72)
PER_PAGE = 20
LOOKUP_RATE_KEY = "RB_LIMIT_LOOKUP"


class ConfirmNeeded(Invalid):
    """The description seems to hold personal details; the reporter must confirm."""

    status = 422

    def __init__(self, message: str, findings: list[str]) -> None:
        super().__init__(message)
        self.findings = findings


# --- settings ----------------------------------------------------------------------


def settings_for(space_id: int) -> SafetySettings:
    """The space's settings row, or an unsaved one holding the defaults."""
    row = db.session.get(SafetySettings, space_id)
    if row is None:
        row = SafetySettings(
            space_id=space_id,
            region=current_app.config.get("RB_DEFAULT_REGION", "GB"),
            trusted_publish=False,
            report_days=180,
            alert_hours=12,
        )
    return row


def update_settings(
    actor: Account,
    slug: object,
    *,
    region: object,
    trusted_publish: bool,
    report_days: object,
    alert_hours: object,
) -> SafetySettings:
    """Owners set the region for phone numbers, publication and expiry."""
    acc = access.access_space(actor, slug)
    acc.require_role("owner")
    row = settings_for(acc.space.id)
    row.region = identifiers.clean_region(region)
    row.trusted_publish = bool(trusted_publish)
    row.report_days = text.whole_number(
        report_days, _("report lifetime in days"), *REPORT_DAYS, default=180
    )
    row.alert_hours = text.whole_number(
        alert_hours, _("alert lifetime in hours"), *ALERT_HOURS, default=12
    )
    db.session.add(row)
    db.session.commit()
    return row


# --- who may do what ----------------------------------------------------------------


def may_approve(acc: access.SpaceAccess, now: datetime) -> bool:
    """Moderators, and members whose name here is at trust level 2 (never their account's)."""
    if acc.has_role("moderator"):
        return True
    return acc.is_member and policy.is_trusted(acc.account, acc.membership, now)


def _member_access(actor: Account | None, space_id: int) -> access.SpaceAccess:
    """The space, for a member (or an instance admin); NotFound for anyone else."""
    acc = access.access_space_by_id(actor, space_id)
    if not acc.takes_part:
        raise NotFound()
    return acc


def access_report(
    actor: Account | None, report_id: object
) -> tuple[BadDateReport, access.SpaceAccess]:
    """A live report the actor may see (module docstring); NotFound otherwise."""
    report_id = access.row_id(report_id)
    report = db.session.scalar(sa.select(BadDateReport).where(BadDateReport.id == report_id))
    if report is None or actor is None:
        raise NotFound()
    acc = _member_access(actor, report.space_id)
    own = report.author_id == actor.id
    if not access.shows(actor, report, moderator=acc.has_role("moderator"), own_hidden=True):
        raise NotFound()
    if report.status == REPORT_PENDING and not (own or may_approve(acc, clock.now())):
        raise NotFound()
    return report, acc


def may_decide(actor: Account, report: BadDateReport, acc: access.SpaceAccess) -> bool:
    """Whether the page shows approve / turn down: approvers, on others' pending reports."""
    return (
        report.status == REPORT_PENDING
        and report.author_id != actor.id
        and may_approve(acc, clock.now())
    )


def reporter_name(report: BadDateReport, acc: access.SpaceAccess) -> str | None:
    """The reporter's name in the space: for moderators, while the report is pending."""
    if report.status != REPORT_PENDING or not acc.has_role("moderator") or report.author_id is None:
        return None
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.space_id == report.space_id, Membership.account_id == report.author_id
        )
    )
    return membership.display_name if membership is not None else None


# --- filing ------------------------------------------------------------------------


@dataclass
class Typed:
    """The identifiers a reporter typed, by kind, one per line."""

    phones: object = ""
    handles: object = ""
    emails: object = ""
    plates: object = ""

    def lines(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for kind, raw in (
            ("phone", self.phones),
            ("handle", self.handles),
            ("email", self.emails),
            ("plate", self.plates),
        ):
            raw = text.clean(
                raw,
                f"{NOUN[kind]} list",
                MAX_PER_KIND * (identifiers.MAX_RAW + 2),
                required=False,
                multiline=True,
                drop_hidden=True,
            )
            values = [line.strip() for line in raw.splitlines() if line.strip()]
            if len(values) > MAX_PER_KIND:
                raise Invalid(
                    _(
                        "Please give at most %(max_per_kind)s of each kind of detail.",
                        max_per_kind=MAX_PER_KIND,
                    )
                )
            out[kind] = values
        return out


NOUN = {
    "phone": N_("phone number"),
    "handle": N_("handle or username"),
    "email": N_("email address"),
    "plate": N_("vehicle plate"),
}


def _normalised(typed: Typed, region: str) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for kind, values in typed.lines().items():
        for value in values:
            normalised = identifiers.normalise(kind, value, region)
            if normalised is None:
                raise Invalid(
                    _(
                        '"%(value)s" does not look like a %(kind)s. Please check it (for a '
                        "number from another country, start with + and the country code).",
                        value=value[:40],
                        kind=_(NOUN[kind]),
                    )
                )
            found.add((kind, normalised))
    return found


def _categories(raw: object) -> str:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not raw or len(raw) > len(CATEGORIES):
        raise Invalid(_("Please tick at least one thing that happened."))
    codes = set()
    for key in raw:
        if not isinstance(key, str) or key not in CATEGORIES:
            raise Invalid(_("Please choose from the list of what happened."))
        codes.add(CATEGORIES[key][0])
    return " ".join(code for code in CODE_ORDER if code in codes)


def _when(raw: object, now: datetime) -> date:
    if not isinstance(raw, str) or len(raw) != 10:
        raise Invalid(_("Please give the date it happened (year-month-day)."))
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise Invalid(_("Please give the date it happened (year-month-day).")) from None
    today = now.date()
    if day > today + timedelta(days=1):  # a day of slack for time zones
        raise Invalid(_("The date is in the future. Please check it."))
    if day < today - MAX_AGE:
        raise Invalid(_("Reports can be about the last year only."))
    return day


def _screen_text(
    body: str, area: str, typed: set[tuple[str, str]], region: str, confirmed: bool
) -> None:
    """The privacy guard reads the description and area, never the identifier boxes.

    An aggressor's identifier also typed into the description would be stored in
    plain text there: refused, with where to put it. Anything else that looks like
    a phone number, email or address (the reporter's own number, say) needs a tick.
    """
    findings = policy.find_identifiers("\n".join(part for part in (area, body) if part))
    if not findings:
        return
    for finding in findings:
        kind = "phone" if finding.kind == "phone" else "email" if finding.kind == "email" else None
        if kind is None:
            continue
        normalised = identifiers.normalise(kind, finding.text, region)
        if normalised is not None and (kind, normalised) in typed:
            raise Invalid(
                _(
                    "The description repeats a detail from the boxes for the client's details. "
                    "Please take it out of the description: in the boxes it is stored scrambled, "
                    "in the description anyone with the database could read it."
                )
            )
    if confirmed:
        return
    shown = [f"{f.kind}: {f.text[: max(4, len(f.text) * 3 // 4)]}…" for f in findings[:10]]
    raise ConfirmNeeded(
        _(
            "The description or area looks like it holds a phone number, email or address. If "
            "it is the client's, put it in the boxes below instead. Never post your own. If it "
            "is fine, tick the box to send it anyway."
        ),
        shown,
    )


def is_org_staff(actor: Account, space: Space) -> bool:
    if space.organisation_id is None:
        return False
    return db.session.get(OrgStaff, (space.organisation_id, actor.id)) is not None


def file_report(
    actor: Account,
    slug: object,
    *,
    happened_on: object,
    part_of_day: object,
    area: object,
    categories: object,
    body: object,
    typed: Typed,
    for_worker: bool = False,
    consent: bool = False,
    confirm_identifiers: bool = False,
) -> BadDateReport:
    """File a report in a space (members only). Raises NotFound, Forbidden, Invalid."""
    acc = access.access_space(actor, slug)
    acc.require_write()
    now = clock.now()
    settings = settings_for(acc.space.id)
    if for_worker:
        if not is_org_staff(actor, acc.space):
            raise Forbidden(
                _("Only staff of the organisation hosting this space can report for someone else.")
            )
        if not consent:
            raise Invalid(_("Please confirm that the worker agreed to this report."))
    day = _when(happened_on, now)
    if part_of_day not in PARTS_OF_DAY:
        raise Invalid(_("Please choose the part of the day."))
    codes = _categories(categories)
    area_text = text.clean(area, _("area"), MAX_AREA, required=False)
    body_text = text.clean(body, _("description"), MAX_BODY, required=False, multiline=True)
    found = _normalised(typed, settings.region)
    if not found:
        raise Invalid(
            _(
                "Please give at least one detail of the client: a phone number, handle, email "
                "or plate."
            )
        )
    _screen_text(body_text, area_text, found, settings.region, confirm_identifiers)
    publish = settings.trusted_publish and may_approve(acc, now)
    report = BadDateReport(
        space_id=acc.space.id,
        author_id=actor.id,
        for_worker=bool(for_worker),
        happened_on=day,
        part_of_day=part_of_day,
        area=area_text,
        codes=codes,
        body=body_text,
        status=REPORT_PUBLISHED if publish else REPORT_PENDING,
        created_at=now,
        published_at=now if publish else None,
        expires_at=now + timedelta(days=settings.report_days),
    )
    db.session.add(report)
    db.session.flush()
    for kind, normalised in sorted(found):
        db.session.add(
            BadDateIdentifier(
                report_id=report.id, kind=kind, digest=identifiers.digest(kind, normalised)
            )
        )
    db.session.commit()
    return report


# --- approval -----------------------------------------------------------------------


def pending(actor: Account, slug: object, page: int = 1) -> tuple[access.SpaceAccess, Page]:
    """Reports waiting for approval, oldest first (approvers only)."""
    acc = access.access_space(actor, slug)
    if not acc.takes_part:
        raise NotFound()
    if not may_approve(acc, clock.now()):
        raise Forbidden(_("Only the space's moderators and trusted members approve reports."))
    query = (
        sa.select(BadDateReport)
        .where(BadDateReport.space_id == acc.space.id, _waiting(acc))
        .order_by(BadDateReport.id)
    )
    return acc, paginate(query, page, PER_PAGE)


def _waiting(acc: access.SpaceAccess) -> sa.ColumnElement[bool]:
    """Pending reports an approver may see: the list rule (a report a moderator hid is
    the moderators' alone; blocks do not apply, as for published ones)."""
    return sa.and_(
        BadDateReport.status == REPORT_PENDING,
        access.visible(
            acc.account, BadDateReport, moderator=acc.has_role("moderator"), blocks=False
        ),
    )


def _decidable(actor: Account, report_id: object) -> tuple[BadDateReport, access.SpaceAccess]:
    report, acc = access_report(actor, report_id)
    if report.status != REPORT_PENDING:
        raise Invalid(_("This report is already published."))
    if not may_approve(acc, clock.now()):
        raise Forbidden(_("Only the space's moderators and trusted members approve reports."))
    if report.author_id == actor.id:
        raise Forbidden(_("Someone else must approve your own report."))
    return report, acc


def approve(actor: Account, report_id: object) -> BadDateReport:
    """Publish a pending report to the space's members."""
    report, _acc = _decidable(actor, report_id)
    report.status = REPORT_PUBLISHED
    report.published_at = clock.now()
    db.session.commit()
    return report


def reject(actor: Account, report_id: object) -> None:
    """Turn down a pending report: it is deleted, identifiers and all."""
    report, _acc = _decidable(actor, report_id)
    db.session.delete(report)
    db.session.commit()


def withdraw(actor: Account, report_id: object) -> None:
    """The reporter deletes their own report, pending or published."""
    report, _acc = access_report(actor, report_id)
    if report.author_id != actor.id:
        raise Forbidden(_("Only the person who filed a report can withdraw it."))
    db.session.delete(report)
    db.session.commit()


# --- reading -------------------------------------------------------------------------


def _published() -> sa.ColumnElement[bool]:
    """Published, and shown by the list rule (not hidden, not expired). Blocks do not
    apply: a report warns about a client, and a block must not tell its author anything."""
    return sa.and_(
        BadDateReport.status == REPORT_PUBLISHED, access.visible(None, BadDateReport, blocks=False)
    )


@dataclass
class SpaceReports:
    access: access.SpaceAccess
    published: Page
    own_pending: list[BadDateReport]
    pending_count: int  # for approvers; 0 for others
    settings: SafetySettings


def list_reports(actor: Account, slug: object, page: int = 1) -> SpaceReports:
    """Published reports in a space, newest first, for its members."""
    acc = access.access_space(actor, slug)
    if not acc.takes_part:
        raise NotFound()
    now = clock.now()
    query = (
        sa.select(BadDateReport)
        .where(BadDateReport.space_id == acc.space.id, _published())
        .order_by(BadDateReport.happened_on.desc(), BadDateReport.id.desc())
    )
    own = list(
        db.session.scalars(
            sa.select(BadDateReport)
            .where(
                BadDateReport.space_id == acc.space.id,
                BadDateReport.author_id == actor.id,
                BadDateReport.status == REPORT_PENDING,
                access.visible(actor, BadDateReport, own_hidden=True, blocks=False),
            )
            .order_by(BadDateReport.id)
            .limit(50)
        )
    )
    waiting = 0
    if may_approve(acc, now):
        waiting = (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(BadDateReport)
                .where(BadDateReport.space_id == acc.space.id, _waiting(acc))
            )
            or 0
        )
    return SpaceReports(
        acc, paginate(query, page, PER_PAGE), own, waiting, settings_for(acc.space.id)
    )


@dataclass
class Match:
    report: BadDateReport
    space: Space
    kinds: list[str]  # which kinds of detail matched


@dataclass
class LookupResult:
    matches: list[Match] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.matches)

    def summary(self) -> list[tuple[str, int]]:
        """(code, number of reports with it), most serious first: ``[("VI", 2), ("NC", 1)]``."""
        counts: dict[str, int] = {}
        for match in self.matches:
            for code in match.report.code_list:
                counts[code] = counts.get(code, 0) + 1
        return [(code, counts[code]) for code in CODE_ORDER if code in counts]


MAX_MATCHES = 50


def lookup(actor: Account, value: object, kind: object = "any") -> LookupResult:
    """Published, live reports in the actor's spaces that name ``value``.

    Counted against the account's lookup rate before anything else; writes nothing.
    """
    ratelimit.hit(current_app.config[LOOKUP_RATE_KEY], "lookup", actor.id)
    # A lookup searches, so it looks where search does.
    space_ids = list(db.session.scalars(access.searched_spaces(actor)))
    if not space_ids:
        identifiers.candidates(value, [], kind)  # bad input is still a clear 400
        return LookupResult()
    regions = sorted({settings_for(space_id).region for space_id in space_ids})
    wanted = identifiers.candidates(value, regions, kind)
    if not wanted:
        raise Invalid(_("That does not look like a phone number, handle, email or plate."))
    pairs = sa.or_(
        *(sa.and_(BadDateIdentifier.kind == k, BadDateIdentifier.digest == d) for k, d in wanted)
    )
    rows = db.session.execute(
        sa.select(BadDateReport, BadDateIdentifier.kind)
        .join(BadDateIdentifier, BadDateIdentifier.report_id == BadDateReport.id)
        .where(pairs, BadDateReport.space_id.in_(space_ids), _published())
        .order_by(BadDateReport.happened_on.desc(), BadDateReport.id.desc())
        .limit(MAX_MATCHES * 4)
    ).all()
    by_report: dict[int, Match] = {}
    for report, matched_kind in rows:
        match = by_report.get(report.id)
        if match is None:
            if len(by_report) >= MAX_MATCHES:
                continue
            match = by_report[report.id] = Match(report, db.session.get(Space, report.space_id), [])
        if matched_kind not in match.kinds:
            match.kinds.append(matched_kind)
    return LookupResult(list(by_report.values()))


# --- account deletion -----------------------------------------------------------------


def account_hook(account_id: int, keep_content: bool) -> None:
    """On account deletion: their reports go too, unless they keep their content
    (then the reports stay, with no link back: ``author_id`` is set NULL by the database)."""
    if not keep_content:
        db.session.execute(
            sa.delete(BadDateReport)
            .where(BadDateReport.author_id == account_id)
            .execution_options(synchronize_session=False)
        )
