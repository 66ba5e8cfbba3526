"""Issue 12's "done when", at phone size: a bad-date report, a lookup in another format,
a check-in that runs out, a live alert with the note, and the note gone after check-in."""

from __future__ import annotations

import secrets
import sqlite3
import time

import pytest

from tests.browser.flows import join_space
from tests.browser.flows import log_in
from tests.browser.flows import screenshot
from tests.browser.flows import sign_up
from tests.browser.flows import submit
from tests.support import seized_bytes

pytestmark = pytest.mark.browser

SLUG = "safety-bad-dates"  # a starter space: `flask --app forum demo` made it


def _db(server) -> sqlite3.Connection:
    connection = sqlite3.connect(server.instance / "redbrolly.db", timeout=10)
    connection.execute("PRAGMA busy_timeout=10000")
    return connection


def _disk(server) -> bytes:
    """The database and vault files as a seized server yields them (sealed text opened)."""
    folder = server.instance
    return seized_bytes(folder / "redbrolly.db", folder / "redbrolly.vault.db")


def test_report_lookup_check_in_and_live_alert(new_context, admin, server):
    token = secrets.token_hex(3)
    note = f"Grey car, hotel on the corner, Quokkanote{token}"
    a_page = new_context().new_page()
    b_page = new_context().new_page()
    mod_page = new_context().new_page()
    a = sign_up(a_page)
    b = sign_up(b_page)
    join_space(a_page, SLUG)
    join_space(b_page, SLUG)

    # A reports a client's phone number.
    a_page.goto(f"/s/{SLUG}")
    with a_page.expect_navigation():
        a_page.get_by_role("link", name="Reports").click()
    with a_page.expect_navigation():
        a_page.get_by_role("link", name="File a report").click()
    a_page.fill("#f-when", time.strftime("%Y-%m-%d"))
    a_page.get_by_label("VI · Violence").check()
    a_page.get_by_label("NC · Condom refusal or removal").check()
    a_page.fill("#f-area", "Near the station")
    a_page.fill("#f-body", "Refused a condom, then got rough.")
    a_page.fill("#f-phones", "+44 7700 900123")
    submit(a_page, "Send report")
    assert "waits for a moderator" in a_page.locator(".flash").inner_text()
    screenshot(a_page, "safety-report-sent")

    # Not yet approved: B's lookup finds nothing.
    b_page.goto("/check")
    b_page.fill("#f-value", "07700900123")
    submit(b_page, "Check")
    assert "No reports in your spaces." in b_page.locator(".check-result").inner_text()

    # The admin (moderator everywhere) approves it; the reporter's name shows only to them.
    log_in(mod_page, admin.alias, admin.passphrase)
    mod_page.goto(f"/s/{SLUG}/reports/pending")
    assert a.alias in mod_page.locator("main").inner_text()
    submit(mod_page, "Approve and publish")

    # B types the number in another format and sees the warning: codes first, details on a tap.
    b_page.goto("/check")
    b_page.fill("#f-value", "7700 900 123")
    submit(b_page, "Check")
    answer = b_page.locator(".check-answer").inner_text()
    assert "VI" in answer and "NC" in answer and "1 report" in answer
    assert a.alias not in b_page.locator("main").inner_text()
    assert not b_page.locator("details.report").first.evaluate("d => d.open")
    b_page.locator("details.report summary").first.click()
    assert b_page.get_by_text("Refused a condom, then got rough.").is_visible()
    screenshot(b_page, "safety-check-warning")

    # B asks A to be buddies, by A's name in the space; A says yes.
    b_page.goto("/buddies")
    b_page.select_option("#f-space", SLUG)
    b_page.fill("#f-name", a.alias)
    submit(b_page, "Ask")
    a_page.goto("/buddies")
    submit(a_page, "Yes")
    assert b.alias in a_page.locator("main").inner_text()

    # B starts a 30-minute check-in naming A, with a note.
    b_page.goto("/checkin")
    b_page.select_option("#f-minutes", "30")
    b_page.get_by_label(a.alias).check()
    b_page.fill("#f-note", note)
    submit(b_page, "Start")
    assert "Check in within" in b_page.locator("main").inner_text()

    # A is on another page, live.
    a_page.goto("/spaces")
    a_page.wait_for_function("() => window.rbSocket && window.rbSocket.connected")
    assert a_page.locator(".safety-alert").count() == 0

    # The time passes (no UI makes 30 minutes pass: the test moves the deadline, as
    # flows.make_established moves an account's age). The server's timer fires it.
    with _db(server) as connection:
        connection.execute(
            "UPDATE safety_checkins"
            " SET deadline = strftime('%Y-%m-%d %H:%M:%f000', 'now', '-1 minute')"
        )
    alert = a_page.locator(".safety-alert", has_text=f"{b.alias} has not checked in")
    alert.wait_for(timeout=20_000)
    assert note in alert.inner_text()
    screenshot(a_page, "safety-live-alert")

    # Without JavaScript too: the banner is on every page until A opens it.
    a_page.goto("/updates")
    assert a_page.locator(".safety-alert", has_text=b.alias).count() == 1
    with a_page.expect_navigation():
        a_page.locator(".safety-alert").get_by_role("link", name="Open").click()
    assert note in a_page.locator("main").inner_text()
    a_page.goto("/spaces")
    assert a_page.locator(".safety-alert").count() == 0

    # B checks in; the note is gone from the database, rows and file bytes.
    assert f"Quokkanote{token}".encode() in _disk(
        server
    )  # positive control: the scan reads the note
    b_page.goto("/checkin")
    submit(b_page, "I'm safe")
    with _db(server) as connection:
        assert connection.execute("SELECT count(*) FROM safety_checkins").fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM safety_checkin_contacts").fetchone()[0] == 0
    assert f"Quokkanote{token}".encode() not in _disk(server)
