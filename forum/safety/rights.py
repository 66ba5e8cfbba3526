"""Rights and services pages: Markdown pages a space's owners and moderators keep.

Know-your-rights, what to do on arrest, friendly clinics, lawyers and shelters.
Each page has a "last reviewed" date and a review interval; past it, the page says
it may be out of date (``RightsPage`` rows do not expire: keeping them is the point).
Anyone who may read the space reads its pages; its moderators and owners write them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from forum import access
from forum import clock
from forum import markdown
from forum import text
from forum.errors import Conflict
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.safety.models import RightsPage

MAX_TITLE = 150
REVIEW_DAYS = (30, 730)
MAX_PAGES = 100
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


@dataclass
class PageView:
    page: RightsPage

    @property
    def due_on(self) -> date:
        return self.page.reviewed_on + timedelta(days=self.page.review_days)

    @property
    def out_of_date(self) -> bool:
        return clock.now().date() > self.due_on


def list_pages(actor: Account, slug: object) -> tuple[access.SpaceAccess, list[PageView]]:
    acc = access.access_space(actor, slug)
    rows = db.session.scalars(
        sa.select(RightsPage)
        .where(RightsPage.space_id == acc.space.id)
        .order_by(RightsPage.title)
        .limit(MAX_PAGES)
    )
    return acc, [PageView(row) for row in rows]


def get_page(
    actor: Account, slug: object, page_slug: object
) -> tuple[access.SpaceAccess, PageView]:
    """The page ``page_slug`` of a space: its id (an ``int``, what every link the app
    makes carries, so history says nothing of a guide's subject) or its old slug."""
    acc = access.access_space(actor, slug)
    if isinstance(page_slug, int) and not isinstance(page_slug, bool):
        which = RightsPage.id == access.row_id(page_slug)
    elif isinstance(page_slug, str) and _SLUG.match(page_slug):
        which = RightsPage.slug == page_slug
    else:
        raise NotFound()
    row = db.session.scalar(sa.select(RightsPage).where(RightsPage.space_id == acc.space.id, which))
    if row is None and isinstance(page_slug, int):  # an old link to a slug of digits
        row = db.session.scalar(
            sa.select(RightsPage).where(
                RightsPage.space_id == acc.space.id, RightsPage.slug == str(page_slug)
            )
        )
    if row is None:
        raise NotFound()
    return acc, PageView(row)


def _fields(title: object, body: object, reviewed_on: object, review_days: object) -> dict:
    title = text.clean(title, _("title"), MAX_TITLE)
    body = text.clean(body, _("page"), markdown.MAX_POST_CHARS, multiline=True)
    today = clock.now().date()
    if reviewed_on is None or (isinstance(reviewed_on, str) and not reviewed_on.strip()):
        day = today
    else:
        try:
            day = (
                date.fromisoformat(reviewed_on)
                if isinstance(reviewed_on, str) and len(reviewed_on) == 10
                else None
            )
        except ValueError:
            day = None
        if day is None or day > today + timedelta(days=1) or day < today - timedelta(days=3650):
            raise Invalid(
                _("Please give the date it was last reviewed (year-month-day, not in the future).")
            )
    days = text.whole_number(review_days, _("review interval in days"), *REVIEW_DAYS, default=180)
    return {"title": title, "body": body, "reviewed_on": day, "review_days": days}


def _slug_for(title: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-")[:60].strip("-")
    return base or "page"


def create_page(
    actor: Account,
    slug: object,
    *,
    title: object,
    body: object,
    reviewed_on: object = None,
    review_days: object = None,
) -> RightsPage:
    acc = access.access_space(actor, slug)
    acc.require_role("moderator")
    fields = _fields(title, body, reviewed_on, review_days)
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RightsPage)
        .where(RightsPage.space_id == acc.space.id)
    )
    if count >= MAX_PAGES:
        raise Invalid(_("A space can keep at most %(max_pages)s pages.", max_pages=MAX_PAGES))
    page_slug = _slug_for(fields["title"])
    taken = set(
        db.session.scalars(sa.select(RightsPage.slug).where(RightsPage.space_id == acc.space.id))
    )
    candidate, n = page_slug, 2
    while candidate in taken:
        candidate, n = f"{page_slug[:56]}-{n}", n + 1
    row = RightsPage(space_id=acc.space.id, slug=candidate, updated_at=clock.now(), **fields)
    db.session.add(row)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(_("A page with that name was just made. Please try again.")) from None
    return row


def update_page(
    actor: Account,
    slug: object,
    page_slug: object,
    *,
    title: object,
    body: object,
    reviewed_on: object = None,
    review_days: object = None,
) -> RightsPage:
    acc, view = get_page(actor, slug, page_slug)
    acc.require_role("moderator")
    for key, value in _fields(title, body, reviewed_on, review_days).items():
        setattr(view.page, key, value)
    view.page.updated_at = clock.now()
    db.session.commit()
    return view.page


def delete_page(actor: Account, slug: object, page_slug: object) -> access.SpaceAccess:
    acc, view = get_page(actor, slug, page_slug)
    acc.require_role("moderator")
    db.session.delete(view.page)
    db.session.commit()
    return acc
