"""Accounts in a real browser at phone size: recovery, sessions, deletion, discreet mode."""

from __future__ import annotations

import re

import pytest

from tests.browser.flows import is_signed_in
from tests.browser.flows import log_in
from tests.browser.flows import log_out
from tests.browser.flows import sign_up
from tests.browser.flows import submit

pytestmark = pytest.mark.browser

NEW_PASSPHRASE = "a brand new umbrella passphrase"


def recover(page, alias: str, code: str, passphrase: str):
    """Fill /recover and submit it; return the POST's response."""
    page.goto("/recover")
    page.fill("#f-alias", alias)
    page.fill("#f-code", code)
    page.fill("#f-passphrase", passphrase)
    page.fill("#f-passphrase2", passphrase)
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/recover")
    ) as info:
        submit(page, "Set new passphrase")
    return info.value


def test_recovery_code_resets_the_passphrase_once(page):
    member = sign_up(page)
    assert is_signed_in(page)
    assert len(set(member.codes)) == 6
    log_out(page)
    log_in(page, member.alias, member.passphrase)
    log_out(page)

    # Forgot the passphrase: one code sets a new one and signs in.
    response = recover(page, member.alias, member.codes[0].lower(), NEW_PASSPHRASE)
    assert response.status == 303
    assert page.url.endswith("/account")
    assert "recovery code is now used up" in page.locator(".flash").inner_text()
    assert "5 unused recovery codes" in page.locator("#codes").inner_text()
    log_out(page)
    log_in(page, member.alias, NEW_PASSPHRASE)
    log_out(page)

    # The spent code is refused, and nothing changes.
    response = recover(page, member.alias, member.codes[0], "yet another long passphrase")
    assert 400 <= response.status < 500
    assert page.locator(".flash-error").count() == 1
    assert not is_signed_in(page)
    log_in(page, member.alias, NEW_PASSPHRASE)


def test_ending_another_session_logs_it_out(page, new_context):
    member = sign_up(page)
    other = new_context().new_page()
    log_in(other, member.alias, member.passphrase)

    page.goto("/account")
    rows = page.locator("#sessions .list > li")
    assert rows.count() == 2
    assert rows.filter(has=page.locator(".badge")).count() == 1  # "this one"
    submit_row = rows.filter(has_not=page.locator(".badge"))
    with page.expect_navigation():
        submit_row.get_by_role("button", name="End").click()
    assert "session is ended" in page.locator(".flash").inner_text()
    assert page.locator("#sessions .list > li").count() == 1
    assert is_signed_in(page)

    # The other phone is logged out the next time it loads a page.
    other.goto("/account")
    assert re.search(r"/login\?next=/account$", other.url), other.url
    assert not is_signed_in(other)


def test_delete_account_asks_first_then_deletes(page):
    member = sign_up(page)
    page.goto("/account")
    questions: list[str] = []
    answer = {"accept": False}

    def on_dialog(dialog) -> None:
        questions.append(dialog.message)
        if answer["accept"]:
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", on_dialog)
    page.fill("#f-del-pass", member.passphrase)

    # Cancel: nothing is sent, the account stays.
    page.get_by_role("button", name="Delete my account").click()
    assert questions == ["Delete your account now?"]
    assert page.url.endswith("/account") and is_signed_in(page)

    answer["accept"] = True
    submit(page, "Delete my account")
    assert len(questions) == 2
    assert "account is deleted" in page.locator(".flash").inner_text()
    assert not is_signed_in(page)

    page.goto("/login")
    page.fill("#f-alias", member.alias)
    page.fill("#f-passphrase", member.passphrase)
    submit(page, "Log in")
    assert page.locator(".flash-error").count() == 1
    assert not is_signed_in(page)


def test_discreet_mode_changes_title_and_icon(page):
    sign_up(page)
    page.goto("/account")
    assert page.title() == "Notes"  # a device that has chosen nothing yet
    page.goto("/")
    submit(page, 'Full: the name "Red Brolly"')  # the panel on the member's home page
    page.goto("/account")
    assert "Red Brolly" in page.title()
    # Static names carry a content hash (forum/weight.py): favicon.<hash>.svg
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert re.search(r"/favicon\.[0-9a-f]+\.svg$", icon), icon

    page.get_by_label(re.compile("Discreet mode")).check()
    with page.expect_navigation():
        page.locator("#preferences").get_by_role("button", name="Save").click()
    for path in ("/account", "/"):
        page.goto(path)
        assert page.title() == "Notes"
        icon = page.locator("link[rel=icon]").get_attribute("href")
        assert re.search(r"/favicon-discreet\.[0-9a-f]+\.svg$", icon), icon
        assert "Red Brolly" not in page.locator("header").inner_text()
    # The icon it names is really there, on our origin.
    icon = page.request.get(page.locator("link[rel=icon]").get_attribute("href"))
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
