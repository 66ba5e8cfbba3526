"""Bad-date reports and "check before you meet": the story, the access matrix,
the privacy of identifiers and reporters, hostile input, expiry."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import accounts
from forum import clock as clock_module
from forum import expiry
from forum import standing
from forum.extensions import db
from forum.models import OrgStaff
from forum.safety import baddates
from forum.safety import identifiers
from forum.safety.models import BadDateIdentifier
from forum.safety.models import BadDateReport
from forum.safety.models import SafetySettings
from moderation.models import Flag
from tests.factories import add_member
from tests.factories import make_space
from tests.support import PASSPHRASE
from tests.support import disk_bytes
from tests.support import login
from tests.support import post

CSRF = re.compile(r'name="csrf_token" value="[^"]*"')
NUMBER = "+44 7700 900123"
OTHER_FORMATS = ["07700900123", "7700 900 123", "+447700900123", "0044 7700 900 123"]


@pytest.fixture
def app_config() -> dict:
    return {"RB_LIMIT_LOGIN": "1000 per hour"}


def as_user(app, alias):
    """A client signed in as ``alias`` (one per alias and app: sign-ins are rate-limited)."""
    cache = app.extensions.setdefault("test_clients", {})
    if alias not in cache:
        cache[alias] = app.test_client()
        login(cache[alias], alias)
    return cache[alias]


def same_page(one, other) -> bool:
    """Equal but for the CSRF token in the logout form (it carries a timestamp)."""
    return CSRF.sub("", one.get_data(as_text=True)) == CSRF.sub("", other.get_data(as_text=True))


def report_form(**extra: object) -> dict:
    form = {
        "happened_on": "2026-01-01",
        "part_of_day": "night",
        "area": "Riverside",
        "what": ["violence", "condom"],
        "body": "Turned nasty when asked to pay first. Tall, beard.",
        "phones": NUMBER,
        "handles": "",
        "emails": "",
        "plates": "",
    }
    form.update(extra)
    return form


@pytest.fixture
def world(app, make_account, clock):
    """A safety space with a reporter, a looker, a moderator; Fred belongs to nothing."""
    clock.set(clock.now().replace(year=2026, month=1, day=5))
    space = make_space("open", slug="bad-dates", name="Safety")
    elsewhere = make_space("closed", slug="elsewhere", name="Elsewhere")
    people = {name: make_account(name) for name in ("Ana", "Bea", "Mina", "Fred", "Cleo")}
    add_member(space, people["Ana"])
    add_member(space, people["Bea"])
    add_member(space, people["Mina"], role="moderator")
    add_member(elsewhere, people["Cleo"])
    return space, elsewhere, people


def file(app, alias="Ana", slug="bad-dates", **extra):
    return post(as_user(app, alias), f"/s/{slug}/reports/new", report_form(**extra))


def only_report() -> BadDateReport:
    db.session.expire_all()
    return db.session.scalars(sa.select(BadDateReport)).one()


def check(app, alias, value, kind="any"):
    return post(as_user(app, alias), "/check", {"value": value, "kind": kind})


# --- normalising ----------------------------------------------------------------------


@pytest.mark.parametrize("typed", [NUMBER, *OTHER_FORMATS])
def test_uk_formats_are_one_number(typed):
    assert identifiers.phone(typed, "GB") == "+447700900123"


def test_region_decides_numbers_without_a_country_code():
    assert identifiers.phone("06 12 34 56 78", "FR") == identifiers.phone("+33 6 12 34 56 78", "GB")
    assert identifiers.phone("06 12 34 56 78", "GB") != identifiers.phone("06 12 34 56 78", "FR")


def test_handles_plates_and_emails_normalise():
    assert identifiers.handle("@Big.Dave_99") == identifiers.handle("bigdave99") == "bigdave99"
    assert identifiers.plate("ab12 cde") == identifiers.plate("AB-12-CDE") == "AB12CDE"
    assert identifiers.email(" Dave@Example.COM ") == "dave@example.com"
    assert identifiers.phone("12", "GB") is None and identifiers.email("not an email") is None


def test_digest_is_keyed(app):
    one = identifiers.digest("phone", "+447700900123")
    app.config["RB_IDENTIFIER_KEY"] = "another key"
    assert identifiers.digest("phone", "+447700900123") != one
    assert "7700900123" not in one


# --- the story ----------------------------------------------------------------------------


def test_report_approved_then_found_in_any_format_without_the_reporter(app, world):
    _space, _elsewhere, _people = world
    response = file(app)
    assert response.status_code == 303
    report = only_report()
    assert report.status == "pending" and report.codes == "VI NC"
    # Pending: nobody but approvers and the reporter knows it.
    assert "No reports" in check(app, "Bea", OTHER_FORMATS[1]).get_data(as_text=True)
    assert as_user(app, "Bea").get(f"/reports/{report.id}").status_code == 404
    queue = as_user(app, "Mina").get("/s/bad-dates/reports/pending").get_data(as_text=True)
    assert "Ana" in queue  # moderators see the reporter while pending
    assert post(as_user(app, "Mina"), f"/reports/{report.id}/approve").status_code == 303
    assert only_report().status == "published"
    for typed in OTHER_FORMATS:
        page = check(app, "Bea", typed).get_data(as_text=True)
        assert "VI" in page and "NC" in page and "1 report" in page, typed
        assert "Ana" not in page
    for path in (f"/reports/{report.id}", "/s/bad-dates/reports"):
        page = as_user(app, "Bea").get(path).get_data(as_text=True)
        assert "Turned nasty" in page and "Ana" not in page
    # Once published, moderators no longer see who filed it either.
    assert "Ana" not in as_user(app, "Mina").get(f"/reports/{report.id}").get_data(as_text=True)


def test_summary_counts_codes_across_reports(app, world):
    file(app)
    file(app, "Bea", what=["violence", "police"], body="Again.")
    for report in db.session.scalars(sa.select(BadDateReport)).all():
        baddates.approve(db.session.get(type(world[2]["Mina"]), world[2]["Mina"].id), report.id)
    page = check(app, "Cleo", NUMBER).get_data(as_text=True)
    assert "No reports" in page  # Cleo is in no space that has them
    add_member(world[0], world[2]["Cleo"])
    page = check(app, "Cleo", "07700 900123").get_data(as_text=True)
    assert "VI×2" in page and "NC" in page and "PO" in page and "2 reports" in page


def test_other_kinds_match_too(app, world):
    file(app, phones="", handles="@Big.Dave_99", plates="ab12 cde", emails="Dave@Example.com")
    baddates.approve(world[2]["Mina"], only_report().id)
    for value, kind in (
        ("bigdave99", "handle"),
        ("AB12CDE", "plate"),
        ("dave@example.COM", "any"),
        ("BIG DAVE 99", "any"),
    ):
        assert "1 report" in check(app, "Bea", value, kind).get_data(as_text=True), value
    assert "No reports" in check(app, "Bea", "bigdave99", "plate").get_data(as_text=True)


# --- who may see and do what --------------------------------------------------------------


def test_access_matrix_strangers_get_the_missing_page(app, world):
    _space, _elsewhere, people = world
    file(app)
    report = only_report()
    baddates.approve(people["Mina"], report.id)
    for alias, status in (("Ana", 200), ("Bea", 200), ("Mina", 200), ("Fred", 404), ("Cleo", 404)):
        response = as_user(app, alias).get(f"/reports/{report.id}")
        assert response.status_code == status, alias
        if status == 404:
            assert same_page(response, as_user(app, alias).get("/reports/999999"))
    # A closed space's reports: non-members get exactly the missing-space page.
    nowhere = as_user(app, "Fred").get("/s/no-such-space/reports")
    closed = as_user(app, "Fred").get("/s/elsewhere/reports")
    assert closed.status_code == nowhere.status_code == 404
    assert same_page(closed, nowhere)
    assert file(app, "Fred", slug="elsewhere").status_code == 404
    assert as_user(app, "Fred").get("/s/bad-dates/reports/pending").status_code == 404
    assert "No reports" in check(app, "Fred", NUMBER).get_data(as_text=True)


def test_only_other_approvers_publish(app, world, monkeypatch):
    _space, _elsewhere, people = world
    file(app)
    report = only_report()
    assert post(as_user(app, "Ana"), f"/reports/{report.id}/approve").status_code == 403  # her own
    assert (
        post(as_user(app, "Bea"), f"/reports/{report.id}/approve").status_code == 404
    )  # cannot see it
    assert post(as_user(app, "Fred"), f"/reports/{report.id}/reject").status_code == 404
    # A trusted member approves: Bea's everyday alias (the name she shows here) reaches
    # trust level 2 by its own standing, 40 days and 50 posts.
    people["Bea"].created_at = clock_module.today() - timedelta(days=40)
    people["Bea"].trust_posts = standing.POSTS_KEPT
    db.session.commit()
    page = as_user(app, "Bea").get("/s/bad-dates/reports/pending").get_data(as_text=True)
    assert "Riverside" in page and "Ana" not in page  # trusted members never see the reporter
    assert post(as_user(app, "Bea"), f"/reports/{report.id}/approve").status_code == 303
    assert only_report().status == "published"


def test_trusted_publish_setting(app, world):
    space, _elsewhere, _people = world
    file(app, "Mina")
    assert only_report().status == "pending"  # off by default: a second pair of eyes
    db.session.add(
        SafetySettings(
            space_id=space.id, region="GB", trusted_publish=True, report_days=180, alert_hours=12
        )
    )
    db.session.commit()
    file(app, "Mina", phones="07700 900999")
    file(app, "Ana", phones="07700 900888")  # an ordinary member still waits
    db.session.expire_all()
    statuses = sorted(r.status for r in db.session.scalars(sa.select(BadDateReport)))
    assert statuses == ["pending", "pending", "published"]


def test_reject_and_withdraw_delete_everything(app, world):
    file(app)
    report_id = only_report().id
    assert post(as_user(app, "Mina"), f"/reports/{report_id}/reject").status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BadDateIdentifier)) == 0
    file(app)
    report_id = only_report().id
    assert post(as_user(app, "Bea"), f"/reports/{report_id}/withdraw").status_code == 404
    assert post(as_user(app, "Ana"), f"/reports/{report_id}/withdraw").status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BadDateReport)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BadDateIdentifier)) == 0


def test_staff_file_for_a_worker_with_her_consent(app, world, make_account):
    _space, elsewhere, people = world
    db.session.add(
        OrgStaff(organisation_id=elsewhere.organisation_id, account_id=people["Cleo"].id)
    )
    db.session.commit()
    add_member(elsewhere, people["Bea"])
    assert file(app, "Bea", slug="elsewhere", for_worker="1", consent="1").status_code == 403
    no_consent = file(app, "Cleo", slug="elsewhere", for_worker="1")
    assert no_consent.status_code == 400 and "agreed" in no_consent.get_data(as_text=True)
    assert file(app, "Cleo", slug="elsewhere", for_worker="1", consent="1").status_code == 303
    assert only_report().for_worker is True


def test_flag_and_moderate_like_a_post_and_no_block_oracle(app, world):
    _space, _elsewhere, people = world
    file(app)
    report = only_report()
    baddates.approve(people["Mina"], report.id)
    assert (
        post(as_user(app, "Bea"), f"/flag/report/{report.id}", {"reason": "spam"}).status_code
        == 303
    )
    assert (
        post(as_user(app, "Fred"), f"/flag/report/{report.id}", {"reason": "spam"}).status_code
        == 404
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Flag)) == 1
    # Blocking "the author of a report" would tell whose posts disappear: refused, as if missing.
    assert post(as_user(app, "Bea"), f"/block/report/{report.id}").status_code == 404
    queue = as_user(app, "Mina").get("/s/bad-dates/mod/queue").get_data(as_text=True)
    assert "Turned nasty" in queue and "Ana" not in queue
    lock = post(
        as_user(app, "Mina"),
        "/s/bad-dates/mod/act",
        {"action": "lock", "kind": "report", "id": report.id},
    )
    assert lock.status_code == 400
    deleted = post(
        as_user(app, "Mina"),
        "/s/bad-dates/mod/act",
        {"action": "delete", "kind": "report", "id": report.id},
    )
    assert deleted.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BadDateReport)) == 0
    assert "No reports" in check(app, "Bea", NUMBER).get_data(as_text=True)


# --- the privacy guard ------------------------------------------------------------------------


def test_guard_skips_the_boxes_but_reads_the_description(app, world):
    assert (
        file(app, phones="07700 900123\n+33 6 12 34 56 78", emails="x@example.com").status_code
        == 303
    )
    repeated = file(app, body="He called from 07700 900123 twice.")
    assert repeated.status_code == 400 and "boxes" in repeated.get_data(as_text=True)
    own = file(app, body="Call me back on 07700 900456 if you see him.")
    assert own.status_code == 422 and "Send it anyway" in own.get_data(as_text=True)
    assert (
        file(app, body="Call me back on 07700 900456.", confirm_identifiers="1").status_code == 303
    )


# --- hostile input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"what": ["nonsense"]},
        {"what": []},
        {"part_of_day": "teatime"},
        {"happened_on": "yesterday"},
        {"happened_on": "2026-13-45"},
        {"happened_on": "2099-01-01"},
        {"happened_on": "2001-01-01"},
        {"phones": "not a number"},
        {"phones": "\n".join(f"0770090{i:04d}" for i in range(11))},
        {"phones": "9" * 5000},
        {"phones": "", "handles": "", "emails": "", "plates": ""},
        {"area": "x" * 500},
        {"area": "a\u202eb"},
        {"body": "y" * 9000},
        {"plates": "Ω"},
        {"emails": "@@"},
    ],
)
def test_hostile_report_forms_get_a_clear_4xx(app, world, extra):
    response = file(app, **extra)
    assert 400 <= response.status_code < 500
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BadDateReport)) == 0


@pytest.mark.parametrize(
    "value,kind",
    [("", "any"), ("x" * 500, "any"), ("07700900123", "ufo"), ("!!", "phone"), ("\x00\x01", "any")],
)
def test_hostile_lookups_get_a_clear_4xx(app, world, value, kind):
    response = check(app, "Bea", value, kind)
    assert 400 <= response.status_code < 500


def test_lookups_are_rate_limited_and_leave_no_trace(app, world):
    app.config["RB_LIMIT_LOOKUP"] = "3 per hour"

    def counts() -> dict[str, int]:
        return {
            t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in db.metadata.sorted_tables
        }

    client = as_user(app, "Bea")
    before = counts()
    for _ in range(3):
        assert post(client, "/check", {"value": "07700 900777"}).status_code == 200
    assert post(client, "/check", {"value": "07700 900777"}).status_code == 429
    assert counts() == before
    db.session.remove()  # its connection too: one left out of the pool is never closed
    db.engine.dispose()
    blob = disk_bytes()  # the files (PostgreSQL: every row), the vault, sealed values opened
    assert b"Bea" in blob and b"900777" not in blob


# --- storage --------------------------------------------------------------------------------


def test_no_table_holds_a_plain_identifier(app, world):
    marker = "Zebracrossingmarker"
    typed = {
        "phones": "07700 900321",
        "handles": "@Sneaky.Pete",
        "emails": "pete@example.org",
        "plates": "xy65 abc",
    }
    assert file(app, body=marker, **typed).status_code == 303
    forms = {
        "07700 900321",
        "07700900321",
        "+447700900321",
        "7700900321",
        "Sneaky.Pete",
        "sneakypete",
        "pete@example.org",
        "XY65ABC",
        "xy65 abc",
        "XY65 ABC",
    }
    texts = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)).mappings():
            texts.extend(str(v) for v in row.values() if v is not None)
    assert any(marker in t for t in texts)  # positive control
    for form in forms:
        assert not any(form.lower() in t.lower() for t in texts), form
    db.session.commit()
    db.engine.dispose()
    blob = disk_bytes()  # the files (PostgreSQL: every row), the vault, sealed values opened
    assert marker.encode() in blob
    for form in ("7700900321", "SneakyPete", "sneakypete", "pete@example", "XY65ABC"):
        assert form.encode() not in blob, form


def test_reports_expire_for_real(app, world, clock):
    _space, _elsewhere, people = world
    file(app)
    baddates.approve(people["Mina"], only_report().id)
    post(as_user(app, "Bea"), f"/flag/report/{only_report().id}", {"reason": "spam"})
    clock.advance(days=179)
    app.extensions["test_clients"].clear()  # sessions end after 30 days: sign in again
    assert expiry.delete_expired(clock.now())["bad_date_reports"] == 0
    assert "1 report" in check(app, "Bea", NUMBER).get_data(as_text=True)
    clock.advance(days=2)
    app.extensions["test_clients"].clear()
    assert "No reports" in check(app, "Bea", NUMBER).get_data(as_text=True)  # reads filter first
    assert expiry.delete_expired(clock.now())["bad_date_reports"] == 1
    expiry.run_maintenance(clock.now())
    for model in (BadDateReport, BadDateIdentifier, Flag):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model


def test_reports_go_with_the_reporters_account(app, world):
    file(app)
    accounts.delete_account(world[2]["Ana"], PASSPHRASE)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BadDateReport)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BadDateIdentifier)) == 0


def test_settings_owner_only_and_region_checked(app, world, make_account):
    space, _elsewhere, people = world
    owner = make_account("Olga")
    add_member(space, owner, role="owner")
    assert (
        post(as_user(app, "Mina"), "/s/bad-dates/safety-settings", {"region": "FR"}).status_code
        == 403
    )
    assert (
        post(as_user(app, "Fred"), "/s/elsewhere/safety-settings", {"region": "FR"}).status_code
        == 404
    )
    assert (
        post(as_user(app, "Olga"), "/s/bad-dates/safety-settings", {"region": "ZZ"}).status_code
        == 400
    )
    assert (
        post(
            as_user(app, "Olga"),
            "/s/bad-dates/safety-settings",
            {"region": "fr", "report_days": "30", "alert_hours": "6"},
        ).status_code
        == 303
    )
    db.session.expire_all()
    assert baddates.settings_for(space.id).region == "FR"
    file(app, phones="06 12 34 56 78")
    baddates.approve(people["Mina"], only_report().id)
    assert "1 report" in check(app, "Bea", "+33 6 12 34 56 78").get_data(as_text=True)
