"""Discreet on the device, in a real browser: signed-out pages, the tab's history, quick exit.

The history is read from Chromium itself (the DevTools ``Page.getNavigationHistory`` of
the tab): every entry's URL and title, as Back and the history list would show them.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.flows import check_accessibility
from tests.browser.flows import check_layout
from tests.browser.flows import is_signed_in
from tests.browser.flows import sign_up
from tests.browser.flows import submit

pytestmark = pytest.mark.browser

SLUG = "safety-bad-dates"
NAME = "Safety & bad dates"
# What would tell someone reading the history what the site is about.
SUBJECT = re.compile(
    r"safety-bad-dates|safety &(amp;)? bad dates|bad date|red brolly|sex work", re.I
)


def _history(page) -> list[tuple[str, str]]:
    cdp = page.context.new_cdp_session(page)
    try:
        entries = cdp.send("Page.getNavigationHistory")["entries"]
    finally:
        cdp.detach()
    return [(e["url"], e["title"]) for e in entries]


def _plain_look(page) -> None:
    page.goto("/")
    submit(page, "Use the plain look (a neutral name and icon)")


def _assert_neutral(page) -> None:
    assert page.title() == "Notes", page.url
    assert page.locator(".brand").inner_text() == "Notes"
    assert "favicon-discreet." in page.locator("link[rel=icon]").get_attribute("href")
    assert not SUBJECT.search(page.content()), (page.url, SUBJECT.findall(page.content()))


def _assert_neutral_head(page) -> None:
    """What the browser keeps of the page: its title and its icon."""
    assert page.title() == "Notes", page.url
    assert "favicon-discreet." in page.locator("link[rel=icon]").get_attribute("href")


def test_a_fresh_browser_keeps_no_brand_or_subject_in_its_history(page, origin, neutral_site):
    # A device's very first pages, before any choice: nothing branded in what it keeps.
    for path in ("/", "/login", "/no-such-page"):
        page.goto(path)
        _assert_neutral_head(page)
    cdp = page.context.new_cdp_session(page)
    try:
        found = cdp.send("Page.getAppManifest")
    finally:
        cdp.detach()
    assert found["errors"] == [] and json.loads(found["data"])["name"] == "Notes", found
    # The first-visit panel says what the choice is, in plain words; the plain look.
    panel = page.locator("form.look-first")
    assert "history" in panel.inner_text() and "Notes" in panel.inner_text()
    with page.expect_navigation():
        panel.get_by_role("button", name='Plain: "Notes" everywhere').click()
    _assert_neutral(page)
    assert page.locator("form.look-first").count() == 0
    history = _history(page)
    assert len(history) >= 4, history
    for url, title in history:
        assert not SUBJECT.search(url) and not SUBJECT.search(title), (url, title)
        assert title == "Notes" or not url.startswith(origin), (url, title)


def test_choosing_the_full_look_in_the_first_visit_panel(page):
    page.goto("/login")
    _assert_neutral_head(page)
    with page.expect_navigation():
        page.locator("form.look-first").get_by_role(
            "button", name='Full: the name "Red Brolly"'
        ).click()
    assert page.url.endswith("/login") and page.title() == "Log in · Red Brolly"
    assert "/favicon." in page.locator("link[rel=icon]").get_attribute("href")
    assert page.locator("form.look-first").count() == 0


def test_signed_out_discreet_pages_and_a_history_with_no_subject(page, origin, admin, neutral_site):
    _plain_look(page)
    before = 0  # from the first visit on: even that one names nothing (see above)
    for path in ("/", "/login", "/signup", "/recover", "/no-such-page"):
        page.goto(path)
        _assert_neutral(page)
        check_layout(page)
        check_accessibility(page)

    # The manifest the browser itself reads (sent the cookie): the neutral name, no errors.
    page.goto("/")
    cdp = page.context.new_cdp_session(page)
    try:
        found = cdp.send("Page.getAppManifest")
    finally:
        cdp.detach()
    assert found["url"] == origin + "/manifest.webmanifest" and found["errors"] == [], found
    assert json.loads(found["data"])["name"] == "Notes"

    # A member's evening, moving by links and buttons as a person would.
    sign_up(page)
    page.goto("/spaces")
    with page.expect_navigation():
        page.get_by_role("link", name=NAME).click()
    submit(page, "Join this space")
    with page.expect_navigation():
        page.get_by_role("link", name="New thread").click()
    page.fill("#f-title", "Bad date last night")
    page.fill("#f-body", "Tall man, grey car.")
    submit(page, "Start thread")
    page.fill("#f-body", "Thanks for the warning")
    submit(page, "Post reply")
    assert page.title() == "Notes"
    check_accessibility(page)

    ours = [(u, t) for u, t in _history(page)[before:] if u.startswith(origin)]
    assert len(ours) >= 8, ours
    assert any(re.search(r"/s/\d+$", u) for u, _t in ours), ours  # the space, by its id
    for url, title in ours:
        assert not SUBJECT.search(url) and not SUBJECT.search(title), (url, title)
        assert title == "Notes", (url, title)

    # Quick exit: Back returns to nothing of ours.
    page.locator(".quick-exit").click()
    page.wait_for_url(neutral_site)
    page.go_back()
    page.wait_for_load_state()
    assert not page.url.startswith(origin), page.url
    assert "Tall man" not in page.content() and not is_signed_in(page)
    for url, title in _history(page)[before:]:
        assert not SUBJECT.search(url) and not SUBJECT.search(title), (url, title)

    # The way back in still works at once, and ends the quick-exit mark.
    page.goto("/login")
    _assert_neutral(page)


def test_quick_exit_without_javascript_back_returns_to_nothing_of_ours(
    new_context, origin, neutral_site
):
    page = new_context(java_script_enabled=False).new_page()
    sign_up(page)
    page.goto("/account")
    page.goto("/spaces")
    with page.expect_navigation(url=neutral_site):
        page.locator(".quick-exit").click()
    page.go_back()
    page.wait_for_load_state()
    assert not page.url.startswith(origin), page.url
    assert "Weather" in page.content()
    # The way in is open: the log-in page, as a visitor.
    page.goto("/login")
    assert page.locator("h1").inner_text() == "Log in" and not is_signed_in(page)
