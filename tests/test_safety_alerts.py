"""Urgent alerts: trust level 1 to raise, a banner for every member (live and on every
page), confirmations, dismissals, moderator removal, expiry, rate limit, hostile input."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from forum import expiry
from forum.extensions import db
from forum.safety.models import AlertConfirmation
from forum.safety.models import UrgentAlert
from moderation.models import ModAction
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import season
from tests.support import Sock
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
def street(app, clock):
    """Old hand Olu (trust level 1), new Nia, member Mia, moderator Max; Fred is elsewhere."""
    space = make_space("open", slug="street", name="Street")
    people = {name: make_account(name) for name in ("Olu", "Nia", "Mia", "Max", "Fred")}
    for name in ("Olu", "Nia", "Mia"):
        add_member(space, people[name])
    add_member(space, people["Max"], role="moderator")
    season(people["Olu"], make_room(space))
    return space, people


def raise_(app, alias, body="Police vans on the ring road, stay in"):
    return post(as_user(app, alias), "/s/street/alerts", {"body": body})


def test_trusted_enough_members_raise_and_every_member_sees_it(app, street):
    _space, _people = street
    new = raise_(app, "Nia")
    assert new.status_code == 403 and "New members" in new.get_data(as_text=True)
    mia, fred = Sock(app, as_user(app, "Mia")), Sock(app, as_user(app, "Fred"))
    mia.received()
    fred.received()
    assert raise_(app, "Olu").status_code == 303
    live = mia.received("urgent_alert")
    assert (
        len(live) == 1
        and live[0]["body"].startswith("Police vans")
        and live[0]["space"] == "Street"
    )
    assert fred.received("urgent_alert") == []
    for alias in ("Mia", "Nia", "Max"):
        assert "Police vans" in as_user(app, alias).get("/updates").get_data(as_text=True), alias
    assert "Police vans" not in as_user(app, "Fred").get("/updates").get_data(as_text=True)
    assert as_user(app, "Fred").get("/s/street/alerts").status_code == 404


def test_confirm_dismiss_and_remove(app, street):
    raise_(app, "Olu")
    alert_id = db.session.scalars(sa.select(UrgentAlert.id)).one()
    assert post(as_user(app, "Mia"), f"/alerts/{alert_id}/confirm").status_code == 303
    assert (
        post(as_user(app, "Mia"), f"/alerts/{alert_id}/confirm").status_code == 303
    )  # once per member
    confirmed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AlertConfirmation)
        .where(AlertConfirmation.alert_id == alert_id, AlertConfirmation.confirmed.is_(True))
    )
    assert confirmed == 2  # Olu (who raised it) and Mia
    assert "2 saw it" in as_user(app, "Nia").get("/updates").get_data(as_text=True)
    assert "Police vans" not in as_user(app, "Mia").get("/updates").get_data(
        as_text=True
    )  # dismissed for her
    assert post(as_user(app, "Fred"), f"/alerts/{alert_id}/confirm").status_code == 404
    assert post(as_user(app, "Nia"), f"/alerts/{alert_id}/remove").status_code == 403
    assert post(as_user(app, "Nia"), f"/alerts/{alert_id}/explode").status_code == 404
    assert post(as_user(app, "Max"), f"/alerts/{alert_id}/remove").status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UrgentAlert)) == 0


def test_removing_an_alert_is_a_logged_moderation_action(app, street):
    """Like every moderator action: a line in the space's public log, with its reason, in the
    same transaction; the alert's own text is not copied there."""
    raise_(app, "Olu", body="Grey van outside number 12, driver asks for Zed")
    alert_id = db.session.scalars(sa.select(UrgentAlert.id)).one()
    refused = post(as_user(app, "Nia"), f"/alerts/{alert_id}/remove", {"reason": "mine"})
    assert refused.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ModAction)) == 0
    done = post(as_user(app, "Max"), f"/alerts/{alert_id}/remove", {"reason": "Old news now"})
    assert done.status_code == 303
    line = db.session.scalars(sa.select(ModAction)).one()
    assert (line.action, line.reason, line.target_name) == ("alert_remove", "Old news now", "Olu")
    assert line.excerpt is None and line.moderator_id == street[1]["Max"].id
    page = as_user(app, "Mia").get("/s/street/mod/log").get_data(as_text=True)
    assert "urgent alert removed" in page and "Old news now" in page
    assert "Grey van" not in page
    bad = post(as_user(app, "Max"), "/alerts/1/remove", {"reason": "x\x00y"})
    assert bad.status_code == 404  # gone: the same answer as any missing alert


def test_alerts_expire_for_real(app, street, clock):
    raise_(app, "Olu")
    clock.advance(hours=11)
    assert expiry.delete_expired(clock.now())["urgent_alerts"] == 0
    clock.advance(hours=2)
    assert expiry.delete_expired(clock.now())["urgent_alerts"] == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AlertConfirmation)) == 0


def test_rate_limited_per_member(app, street):
    for i in range(3):
        assert raise_(app, "Olu", f"alert {i}").status_code == 303
    assert raise_(app, "Olu", "one more").status_code == 429


@pytest.mark.parametrize("body", ["", "x" * 600, "a\u202eb", "line\x00"])
def test_hostile_alerts_get_a_clear_4xx(app, street, body):
    response = raise_(app, "Olu", body)
    assert 400 <= response.status_code < 500
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UrgentAlert)) == 0


def test_alerts_go_with_their_authors_account(app, street):
    from forum import accounts
    from tests.support import PASSPHRASE

    raise_(app, "Olu")
    accounts.delete_account(street[1]["Olu"], PASSPHRASE)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UrgentAlert)) == 0
