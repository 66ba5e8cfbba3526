"""Rights and services pages: moderators and owners write, readers of the space read,
a page past its review interval says it may be out of date; hostile input is a 4xx."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.safety.models import RightsPage
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_space
from tests.support import login
from tests.support import post


@pytest.fixture
def app_config() -> dict:
    return {"RB_LIMIT_LOGIN": "1000 per hour"}


def as_user(app, alias):
    cache = app.extensions.setdefault("test_clients", {})
    if alias not in cache:
        cache[alias] = app.test_client()
        login(cache[alias], alias)
    return cache[alias]


@pytest.fixture
def spaces_(app, clock):
    clock.set(clock.now().replace(year=2026, month=3, day=1))
    rights_space = make_space("open", slug="rights", name="Rights")
    den = make_space("closed", slug="den", name="Den")
    people = {name: make_account(name) for name in ("Moe", "Mem", "Fred")}
    add_member(rights_space, people["Moe"], role="moderator")
    add_member(rights_space, people["Mem"])
    add_member(den, people["Moe"], role="moderator")
    return rights_space, den


def write(app, alias="Moe", slug="rights", **extra):
    form = {
        "title": "What to do on arrest",
        "body": "You have the right to **stay silent**.",
        "reviewed_on": "2026-02-01",
        "review_days": "30",
    }
    form.update(extra)
    return post(as_user(app, alias), f"/s/{slug}/pages/new", form)


def test_moderators_write_members_read_and_staleness_shows(app, spaces_, clock):
    assert write(app).status_code == 303
    page = as_user(app, "Mem").get("/s/rights/pages/what-to-do-on-arrest").get_data(as_text=True)
    assert "<strong>stay silent</strong>" in page and "may be out of date" not in page
    clock.advance(days=5)  # 2026-03-06: more than 30 days after 2026-02-01
    page = as_user(app, "Mem").get("/s/rights/pages/what-to-do-on-arrest").get_data(as_text=True)
    assert "may be out of date" in page
    assert "may be out of date" in as_user(app, "Mem").get("/s/rights/pages").get_data(as_text=True)
    edited = post(
        as_user(app, "Moe"),
        "/s/rights/pages/what-to-do-on-arrest/edit",
        {
            "title": "What to do on arrest",
            "body": "Checked again.",
            "reviewed_on": "",
            "review_days": "30",
        },
    )
    assert edited.status_code == 303
    assert "may be out of date" not in as_user(app, "Mem").get(
        "/s/rights/pages/what-to-do-on-arrest"
    ).get_data(as_text=True)


def test_who_may_write_and_who_may_see(app, spaces_):
    assert write(app, "Mem").status_code == 403
    assert write(app, "Fred", slug="den").status_code == 404
    assert write(app, "Moe", slug="den", title="Clinic list").status_code == 303
    missing = as_user(app, "Fred").get("/s/den/pages/nothing-here")
    hidden = as_user(app, "Fred").get("/s/den/pages/clinic-list")
    assert hidden.status_code == missing.status_code == 404
    assert as_user(app, "Fred").get("/s/den/pages").status_code == 404
    write(app)
    assert (
        post(as_user(app, "Mem"), "/s/rights/pages/what-to-do-on-arrest/delete").status_code == 403
    )
    assert (
        post(as_user(app, "Moe"), "/s/rights/pages/what-to-do-on-arrest/delete").status_code == 303
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RightsPage)) == 1


def test_same_title_twice_gets_its_own_address(app, spaces_):
    write(app)
    write(app)
    assert sorted(db.session.scalars(sa.select(RightsPage.slug))) == [
        "what-to-do-on-arrest",
        "what-to-do-on-arrest-2",
    ]


@pytest.mark.parametrize(
    "extra",
    [
        {"title": ""},
        {"title": "x" * 400},
        {"body": ""},
        {"body": "b" * 30000},
        {"reviewed_on": "2099-01-01"},
        {"reviewed_on": "yesterday"},
        {"review_days": "0"},
        {"review_days": "lots"},
        {"title": "a\u202eb"},
    ],
)
def test_hostile_pages_get_a_clear_4xx(app, spaces_, extra):
    response = write(app, **extra)
    assert 400 <= response.status_code < 500
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RightsPage)) == 0
