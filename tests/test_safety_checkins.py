"""Buddies and check-ins: consent before contact, alerts that fire once and survive a
restart, banners on every page until opened, notes that leave the database."""

from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa

from forum import expiry
from forum import signals
from forum.extensions import db
from forum.models import OrgStaff
from forum.safety import buddies
from forum.safety import checkins
from forum.safety.models import Buddy
from forum.safety.models import CheckIn
from forum.safety.models import CheckInContact
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_space
from tests.support import Sock
from tests.support import disk_bytes
from tests.support import login
from tests.support import post

NOTE = "Blue van, Zanzibarmarker street, tall man called Q"


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
def pals(app, clock):
    """Ana and Bea share a space and are buddies; Cai shares it but is nobody's buddy."""
    space = make_space("open", slug="hub", name="Hub")
    people = {name: make_account(name) for name in ("Ana", "Bea", "Cai", "Fred")}
    for name in ("Ana", "Bea", "Cai"):
        add_member(space, people[name])
    row = buddies.ask(people["Ana"], "hub", "Bea")
    buddies.accept(people["Bea"], row.id)
    return space, people, row


@pytest.fixture
def heard():
    got: list[tuple[int, dict]] = []

    def receiver(sender, **kwargs):
        got.append((sender, kwargs))

    signals.checkin_alert.connect(receiver)
    yield got
    signals.checkin_alert.disconnect(receiver)


def start(app, alias, buddy_id, minutes="30", note=NOTE):
    return post(
        as_user(app, alias),
        "/checkin/start",
        {"minutes": minutes, "buddy": [str(buddy_id)], "note": note},
    )


def banner(app, alias) -> str:
    page = as_user(app, alias).get("/spaces").get_data(as_text=True)
    match = re.search(r'<div id="safety-alerts".*?</div>', page, re.DOTALL)
    return match.group(0) if match else ""


# --- buddies -------------------------------------------------------------------------------


def test_nothing_passes_before_yes_and_either_side_ends_it(app, clock):
    space = make_space("open", slug="hub", name="Hub")
    ana, bea = make_account("Ana"), make_account("Bea")
    add_member(space, ana)
    add_member(space, bea, space_alias="Rosa")
    asked = post(as_user(app, "Ana"), "/buddies/ask", {"space": "hub", "name": "rosa"})
    assert asked.status_code == 303
    row = db.session.scalars(sa.select(Buddy)).one()
    # Not yet accepted: Ana cannot pick Bea for a check-in.
    assert start(app, "Ana", row.id).status_code == 400
    assert post(as_user(app, "Ana"), f"/buddies/{row.id}/accept").status_code == 404  # only Bea may
    page = as_user(app, "Bea").get("/buddies").get_data(as_text=True)
    assert "Ana" in page
    assert post(as_user(app, "Bea"), f"/buddies/{row.id}/accept").status_code == 303
    # Ana sees Bea only by the name Bea uses in the space where she was asked.
    page = as_user(app, "Ana").get("/buddies").get_data(as_text=True)
    assert "Rosa" in page and "Bea" not in page
    assert post(as_user(app, "Bea"), f"/buddies/{row.id}/end").status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Buddy)) == 0


def test_asking_answers_alike_for_nobody_blocked_and_strangers(app, clock):
    space = make_space("open", slug="hub", name="Hub")
    closed = make_space("closed", slug="den", name="Den")
    ana, bea, fred = make_account("Ana"), make_account("Bea"), make_account("Fred")
    for person in (ana, bea, fred):
        add_member(space, person)
    add_member(closed, bea)
    nobody = post(as_user(app, "Fred"), "/buddies/ask", {"space": "hub", "name": "Nobody here"})
    assert nobody.status_code == 404 and str(buddies.NOBODY) in nobody.get_data(as_text=True)
    assert (
        post(as_user(app, "Fred"), "/buddies/ask", {"space": "hub", "name": "Fred"}).status_code
        == 404
    )
    # Bea blocks Fred (through one of his posts); his request then answers exactly like "nobody".
    from tests.factories import make_thread

    thread = make_thread(space, fred)
    assert post(as_user(app, "Bea"), f"/block/thread/{thread.id}").status_code == 303
    blocked = post(as_user(app, "Fred"), "/buddies/ask", {"space": "hub", "name": "Bea"})
    assert blocked.status_code == 404 and str(buddies.NOBODY) in blocked.get_data(as_text=True)
    # A closed space he is not in: the missing-page answer, whatever the name.
    assert (
        post(as_user(app, "Fred"), "/buddies/ask", {"space": "den", "name": "Bea"}).status_code
        == 404
    )
    assert (
        post(as_user(app, "Fred"), "/buddies/ask", {"space": "no-such", "name": "Bea"}).status_code
        == 404
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Buddy)) == 0
    for path in ("/buddies/999/accept", "/buddies/999/end"):
        assert post(as_user(app, "Fred"), path).status_code == 404


# --- check-ins ------------------------------------------------------------------------------


def test_missed_check_in_alerts_the_chosen_buddy_once_with_a_banner_until_opened(
    app, pals, clock, heard
):
    _space, people, row = pals
    assert start(app, "Ana", row.id).status_code == 303
    checkin = db.session.scalars(sa.select(CheckIn)).one()
    assert checkins.fire_due() == 0 and "has not checked in" not in banner(app, "Bea")
    clock.advance(minutes=31)
    # The banner depends on the stored deadline alone: it shows before any timer ran.
    assert "Ana has not checked in" in banner(app, "Bea")
    assert "has not checked in" not in banner(app, "Cai")  # not chosen, not told
    assert checkins.fire_due() == 1 and checkins.fire_due() == 0  # exactly once
    assert [(sender, kw["account_ids"], kw["note"]) for sender, kw in heard] == [
        (checkin.id, [people["Bea"].id], NOTE)
    ]
    assert as_user(app, "Cai").get(f"/checkin/alert/{checkin.id}").status_code == 404
    opened = as_user(app, "Bea").get(f"/checkin/alert/{checkin.id}")
    assert opened.status_code == 200 and "Zanzibarmarker" in opened.get_data(as_text=True)
    assert "has not checked in" not in banner(app, "Bea")


def test_live_alert_reaches_only_the_buddy(app, pals, clock):
    _space, _people, row = pals
    start(app, "Ana", row.id, minutes="15")
    bea = Sock(app, as_user(app, "Bea"))
    cai = Sock(app, as_user(app, "Cai"))
    bea.received()
    cai.received()
    clock.advance(minutes=16)
    checkins.fire_due()
    got = bea.received("checkin_alert")
    assert (
        len(got) == 1
        and got[0]["name"] == "Ana"
        and got[0]["note"] == NOTE
        and got[0]["kind"] == "missed"
    )
    assert cai.received("checkin_alert") == []
    post(as_user(app, "Ana"), f"/checkin/{got[0]['checkin_id']}/safe")
    closed = bea.received("checkin_closed")
    assert closed == [{"checkin_id": got[0]["checkin_id"], "name": "Ana", "alerted": True}]


def test_help_now_alerts_at_once_and_once(app, pals, clock, heard):
    _space, _people, row = pals
    start(app, "Ana", row.id, minutes="120")
    checkin_id = db.session.scalars(sa.select(CheckIn.id)).one()
    assert post(as_user(app, "Ana"), f"/checkin/{checkin_id}/help").status_code == 303
    assert post(as_user(app, "Ana"), f"/checkin/{checkin_id}/help").status_code == 303
    assert [kw["kind"] for _s, kw in heard] == ["help"]
    assert "Ana needs help now" in banner(app, "Bea")
    assert checkins.fire_due() == 0  # the deadline timer does not alert a second time


def test_safe_deletes_the_note_from_disk(app, pals, clock):
    _space, _people, row = pals
    start(app, "Ana", row.id)
    checkin_id = db.session.scalars(sa.select(CheckIn.id)).one()
    db.session.commit()
    assert b"Zanzibarmarker" in disk_bytes()  # positive control
    assert post(as_user(app, "Bea"), f"/checkin/{checkin_id}/safe").status_code == 404  # not hers
    assert post(as_user(app, "Ana"), f"/checkin/{checkin_id}/safe").status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckInContact)) == 0
    expiry.checkpoint()
    db.session.remove()  # its connection too: one left out of the pool is never closed
    db.engine.dispose()
    assert b"Zanzibarmarker" not in disk_bytes()


def test_the_note_goes_a_day_after_the_deadline_at_the_latest(app, pals, clock):
    _space, _people, row = pals
    start(app, "Ana", row.id, minutes="60")
    clock.advance(hours=24, minutes=59)
    assert expiry.delete_expired(clock.now())["checkins"] == 0
    clock.advance(minutes=2)
    assert expiry.delete_expired(clock.now())["checkins"] == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 0


def test_extend_rearms_and_clears_banners(app, pals, clock, heard):
    _space, _people, row = pals
    start(app, "Ana", row.id, minutes="15")
    checkin_id = db.session.scalars(sa.select(CheckIn.id)).one()
    clock.advance(minutes=16)
    checkins.fire_due()
    assert (
        post(as_user(app, "Ana"), f"/checkin/{checkin_id}/extend", {"minutes": "30"}).status_code
        == 303
    )
    assert "has not checked in" not in banner(app, "Bea")
    clock.advance(minutes=31)
    assert checkins.fire_due() == 1
    assert len(heard) == 2


def test_an_organisation_can_be_the_contact(app, clock, heard):
    closed = make_space("closed", slug="clinic-space", name="Clinic space")
    ana, staff = make_account("Ana"), make_account("Sam")
    add_member(closed, ana)
    db.session.add(OrgStaff(organisation_id=closed.organisation_id, account_id=staff.id))
    db.session.commit()
    response = post(
        as_user(app, "Ana"),
        "/checkin/start",
        {"minutes": "15", "org": [str(closed.organisation_id)], "note": NOTE},
    )
    assert response.status_code == 303
    clock.advance(minutes=16)
    checkins.fire_due()
    owner_and_staff = set(heard[0][1]["account_ids"])
    assert staff.id in owner_and_staff and ana.id not in owner_and_staff
    assert "Ana has not checked in" in banner(app, "Sam")


def test_restart_safe_the_row_is_the_timer(app, pals, clock, tmp_path):
    """A check-in made before a restart fires from a brand-new app on the same database."""
    from forum.app import create_app
    from tests.support import base_config

    _space, _people, row = pals
    start(app, "Ana", row.id, minutes="15")
    db.session.commit()
    clock.advance(minutes=16)
    fresh = create_app(
        base_config(tmp_path, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    )
    with fresh.app_context():
        assert checkins.tick(fresh) == 1
        db.session.remove()
        db.engine.dispose()
    db.session.expire_all()
    assert db.session.scalars(sa.select(CheckIn)).one().fired_at is not None


@pytest.mark.parametrize(
    "form",
    [
        {"minutes": "abc", "buddy": ["1"]},
        {"minutes": "2", "buddy": ["1"]},
        {"minutes": "99999", "buddy": ["1"]},
        {"minutes": "30"},
        {"minutes": "30", "buddy": ["x"]},
        {"minutes": "30", "buddy": ["999"]},
        {"minutes": "30", "buddy": ["1"], "note": "n" * 5000},
        {"minutes": "30", "org": ["5"]},
        {"minutes": "30", "buddy": ["1"], "note": "a\u202eb"},
    ],
)
def test_hostile_check_in_forms_get_a_clear_4xx(app, pals, form):
    response = post(as_user(app, "Fred"), "/checkin/start", form)
    assert 400 <= response.status_code < 500
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 0


def test_other_peoples_check_ins_are_missing(app, pals):
    _space, _people, row = pals
    start(app, "Ana", row.id)
    checkin_id = db.session.scalars(sa.select(CheckIn.id)).one()
    for path in ("safe", "extend", "help"):
        assert (
            post(
                as_user(app, "Fred"), f"/checkin/{checkin_id}/{path}", {"minutes": "15"}
            ).status_code
            == 404
        )
    assert as_user(app, "Fred").get(f"/checkin/alert/{checkin_id}").status_code == 404
    assert (
        as_user(app, "Bea").get(f"/checkin/alert/{checkin_id}").status_code == 404
    )  # not alerting yet


@pytest.mark.postgres
def test_fires_exactly_once_with_concurrent_timers_on_postgresql(pg_app, clock):
    space = make_space("open", slug="hub", name="Hub")
    ana, bea = make_account("Ana"), make_account("Bea")
    add_member(space, ana)
    add_member(space, bea)
    row = buddies.ask(ana, "hub", "Bea")
    buddies.accept(bea, row.id)
    for _ in range(40):
        db.session.add(
            CheckIn(
                account_id=ana.id,
                space_id=space.id,
                deadline=clock.now(),
                note="n",
                created_at=clock.now(),
                expires_at=clock.now() + checkins.KEEP_AFTER_DEADLINE,
            )
        )
    db.session.commit()
    clock.advance(minutes=1)
    results: list[int] = []
    barrier = threading.Barrier(3)

    def timer() -> None:
        with pg_app.app_context():
            barrier.wait()
            results.append(checkins.fire_due(clock.now(), batch=7))
            db.session.remove()

    threads = [threading.Thread(target=timer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Each round fires at most a batch; the rest go in the next round, still exactly once.
    while more := checkins.fire_due(clock.now(), batch=7):
        results.append(more)
    assert sum(results) == 40
