"""The main pages at phone size: screenshots, layout that fits 360px, and axe-core."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.browser.flows import ROOT
from tests.browser.flows import answer_codes
from tests.browser.flows import check_accessibility
from tests.browser.flows import check_layout
from tests.browser.flows import join_space
from tests.browser.flows import new_alias
from tests.browser.flows import open_chat
from tests.browser.flows import reply
from tests.browser.flows import screenshot
from tests.browser.flows import send_chat
from tests.browser.flows import sign_up
from tests.browser.flows import start_thread

pytestmark = pytest.mark.browser


def check_codes_unbroken(page) -> None:
    """Each recovery code sits whole on one line of its box, seen without scrolling: a code
    split in two, or half hidden, is easy to copy wrong."""
    wide, shown, high, tall = page.locator("#codes-all").evaluate(
        "e => [e.scrollWidth, e.clientWidth, e.scrollHeight, e.clientHeight]"
    )
    assert wide <= shown and high <= tall, (wide, shown, high, tall)


def visit(page, path: str | None, name: str) -> None:
    if path is not None:
        page.goto(path)
    screenshot(page, name)
    check_layout(page)
    check_accessibility(page)


def test_main_pages_fit_a_phone_and_pass_axe(page):
    visit(page, "/", "01-front")
    visit(page, "/signup", "02-signup")
    visit(page, "/login", "03-login")
    visit(page, "/recover", "04-recover")
    visit(page, "/no-such-page", "05-not-found")
    page.goto("/signup")
    page.fill("#f-alias", "ab")
    page.fill("#f-passphrase", "short")
    page.fill("#f-passphrase2", "short")
    with page.expect_navigation():
        page.get_by_role("button", name="Create account").click()
    visit(page, None, "06-signup-error")

    member = sign_up(page, answer=False)
    visit(page, None, "07-recovery-codes")
    check_codes_unbroken(page)
    answer_codes(page, member.codes)
    visit(page, "/", "08-front-signed-in")
    visit(page, "/account", "09-account")
    page.get_by_label("Discreet mode", exact=False).check()
    with page.expect_navigation():
        page.locator("#preferences").get_by_role("button", name="Save").click()
    visit(page, None, "10-account-discreet")


def test_dark_mode_pages_pass_axe(new_context):
    page = new_context(color_scheme="dark").new_page()
    visit(page, "/", "11-front-dark")
    member = sign_up(page, answer=False)
    visit(page, None, "12-recovery-codes-dark")
    check_codes_unbroken(page)
    answer_codes(page, member.codes)
    visit(page, "/account", "13-account-dark")


DOCS = ROOT / "docs" / "screenshots"


def docs_screenshot(page, name: str) -> None:
    """The phone's first screen, for the README: with RB_DOCS_SCREENSHOTS=1 into docs/screenshots/."""
    page.evaluate(
        "() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }"
    )
    path = screenshot(page, f"docs-{name}")
    page.screenshot(path=str(path), full_page=False)
    if os.environ.get("RB_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / f"{name}.png")


def test_space_thread_and_chat_pages_fit_a_phone_and_pass_axe(new_context, admin):
    page = new_context().new_page()
    other = new_context().new_page()
    sign_up(page, alias=new_alias("Sky"))
    sign_up(other, alias=new_alias("Mo"))
    for member in (page, other):
        join_space(member, "newcomers")
    start_thread(
        page,
        "newcomers",
        "Tips for a first week?",
        "I'm new to this. What do you wish someone had told you in your **first week**?",
    )
    thread = page.url
    other.goto(thread)
    reply(other, "Screen every client, and tell a friend where you are. Trust your gut.")
    page.goto(thread)
    reply(page, "Thank you, that helps a lot.")

    visit(page, "/spaces", "14-spaces")
    docs_screenshot(page, "spaces")
    visit(page, "/s/newcomers", "15-space")
    visit(page, thread, "16-thread")
    docs_screenshot(page, "thread")

    open_chat(page, "newcomers")
    open_chat(other, "newcomers")
    send_chat(page, "Morning all! Anyone around?")
    send_chat(other, "Hi! Just finished my coffee.")
    send_chat(page, "Is the safety room the place for bad date warnings?")
    send_chat(other, "Yes, post them there. Stay safe today.")
    visit(page, None, "17-chat")
    docs_screenshot(page, "chat")
