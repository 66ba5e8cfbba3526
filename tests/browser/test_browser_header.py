"""The header on a 360x740 phone (issue 15): two short rows, the quick exit the biggest
control in it, the main links one tap away, Account and Log out folded into a small menu
(a <details>, so it works without JavaScript), Log out in plain weight.

In English and in Russian (longer words), with JavaScript on and off.
"""

from __future__ import annotations

import pytest

from tests.browser.flows import SCREENSHOTS
from tests.browser.flows import check_accessibility
from tests.browser.flows import check_accessibility_as_rendered
from tests.browser.flows import check_layout
from tests.browser.flows import is_signed_in
from tests.browser.flows import open_account_menu
from tests.browser.flows import sign_up

pytestmark = pytest.mark.browser

MAX_HEIGHT = 90
LANGUAGES = {"en": "English", "ru": "Русский"}

# Every control in the header that shows, with its box and weight.
_CONTROLS_JS = """() => Array.from(document.querySelectorAll(
    'header a, header button, header summary'))
  .filter(el => el.checkVisibility())
  .map(el => { const r = el.getBoundingClientRect();
    return {cls: el.className, text: el.textContent.trim().replace(/\\s+/g, ' '),
            x: r.left, y: r.top, w: r.width, h: r.height, area: r.width * r.height,
            weight: parseInt(getComputedStyle(el).fontWeight, 10)}; })"""

# What has keyboard focus: its class, or its tag when it has none.
_FOCUSED_JS = """() => { const el = document.activeElement;
  return el.className || el.tagName.toLowerCase(); }"""


def header_height(page) -> float:
    return page.locator("header.site-header").bounding_box()["height"]


def controls(page) -> list[dict]:
    return page.evaluate(_CONTROLS_JS)


def choose_language(page, lang: str) -> None:
    """Pick the language on the first-visit picker (a plain form: no JavaScript needed)."""
    with page.expect_navigation():
        page.locator(".language-first").get_by_role("button", name=LANGUAGES[lang]).click()
    assert page.locator("html").get_attribute("lang") == lang


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_a_short_header_whose_biggest_control_is_quick_exit(new_context, lang, javascript):
    page = new_context(java_script_enabled=javascript).new_page()
    page.goto("/")
    assert header_height(page) <= MAX_HEIGHT  # signed out: the name, then Log in and Sign up
    sign_up(page)
    choose_language(page, lang)
    page.goto("/spaces")

    height = header_height(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"header-{lang}-{'js' if javascript else 'nojs'}.png"))
    assert height <= MAX_HEIGHT, f"the header is {height}px tall"

    # Closed menu: quick exit is the biggest control; the main links show and fit.
    shown = controls(page)
    biggest = max(shown, key=lambda c: c["area"])
    assert "quick-exit" in biggest["cls"], shown
    nav = page.locator("nav.site-nav a")
    assert nav.count() == 4, nav.all_inner_texts()
    for link in nav.all():
        box = link.bounding_box()
        assert link.is_visible() and box["y"] + box["height"] <= height + 1, (link, box)
    assert page.locator("nav.site-nav a.nav-notices .visually-hidden").count() == 1  # named
    assert all(c["text"] != "Log out" and "link-button" not in c["cls"] for c in shown)
    assert is_signed_in(page) and page.locator(".link-button").is_hidden()
    check_layout(page)

    # Keyboard: skip link, the name, the account menu, quick exit, then the main links.
    page.keyboard.press("Tab")
    order = [page.evaluate(_FOCUSED_JS)]
    for _ in range(7):
        page.keyboard.press("Tab")
        order.append(page.evaluate(_FOCUSED_JS))
    assert order[:4] == ["skip-link", "brand", "summary", "quick-exit"], order
    assert order[4:7] == ["a", "a", "a"] and order[7] == "nav-notices", order

    # The menu opens in place (JavaScript on or off): Account, then Log out in plain weight,
    # smaller than quick exit; the header does not grow (the menu lies over the page).
    open_account_menu(page)
    assert header_height(page) == height
    shown = controls(page)
    exit_box = next(c for c in shown if "quick-exit" in c["cls"])
    out = next(c for c in shown if "link-button" in c["cls"])
    assert out["area"] < exit_box["area"], (out, exit_box)
    assert out["weight"] <= 400 < exit_box["weight"], (out, exit_box)
    assert exit_box["area"] >= max(c["area"] for c in shown), shown
    menu = page.locator(".account-menu div")
    assert menu.locator("a").get_attribute("href") == "/account"
    page.screenshot(
        path=str(SCREENSHOTS / f"header-{lang}-{'js' if javascript else 'nojs'}-menu.png")
    )
    check_layout(page)
    if javascript:
        check_accessibility(page)
    else:
        check_accessibility_as_rendered(page, new_context().new_page())

    # Log out works from the menu, by keyboard too.
    page.locator(".link-button").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert not is_signed_in(page)
    assert page.locator("header .account-menu").count() == 0
