"""The main pages at phone size: screenshots, layout that fits 360px, and axe-core."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.browser.flows import ROOT
from tests.browser.flows import join_space
from tests.browser.flows import new_alias
from tests.browser.flows import open_chat
from tests.browser.flows import reply
from tests.browser.flows import screenshot
from tests.browser.flows import send_chat
from tests.browser.flows import sign_up
from tests.browser.flows import start_thread

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"

# Everything in the header that can be tapped, with its box, for the overlap check.
_TARGETS_JS = """() => Array.from(document.querySelectorAll(
    'header a, header button, main a, main button, main input, main select'))
  .filter(el => el.offsetParent !== null || getComputedStyle(el).position === 'fixed')
  .map(el => { const r = el.getBoundingClientRect();
    return {text: (el.innerText || el.name || el.id || '').trim().slice(0, 40),
            cls: el.className, x: r.x, y: r.y, w: r.width, h: r.height}; })"""


def _overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def check_layout(page) -> None:
    """Fits 360px without sideways scrolling; the quick exit covers nothing tappable."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide: sideways scrolling"
    targets = page.evaluate(_TARGETS_JS)
    exits = [t for t in targets if "quick-exit" in t["cls"]]
    assert len(exits) == 1
    exit_box = exits[0]
    assert exit_box["x"] >= 0 and exit_box["x"] + exit_box["w"] <= page.viewport_size["width"]
    assert exit_box["h"] >= 44 and exit_box["w"] >= 44
    covered = [t["text"] for t in targets if t is not exit_box and _overlap(exit_box, t)]
    assert not covered, f"the quick exit covers {covered}"


def check_codes_unbroken(page) -> None:
    """Each recovery code sits on one line: a code split in two is easy to copy wrong."""
    lines = page.locator("ol.codes code").evaluate_all(
        "els => els.map(e => e.getClientRects().length)"
    )
    assert lines == [1] * 10, lines


def check_accessibility(page) -> None:
    """axe-core: no serious or critical violation (WCAG 2.x A and AA rules)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated, not added as a <script>: our CSP (rightly) refuses inline scripts.
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag', values:
             ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"""
    )
    assert result["passes"], "axe ran no checks"  # positive control
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, bad


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

    sign_up(page)
    visit(page, None, "07-recovery-codes")
    check_codes_unbroken(page)
    visit(page, "/", "08-front-signed-in")
    visit(page, "/account", "09-account")
    page.get_by_label("Discreet mode", exact=False).check()
    with page.expect_navigation():
        page.locator("#preferences").get_by_role("button", name="Save").click()
    visit(page, None, "10-account-discreet")


def test_dark_mode_pages_pass_axe(new_context):
    page = new_context(color_scheme="dark").new_page()
    visit(page, "/", "11-front-dark")
    sign_up(page)
    visit(page, None, "12-recovery-codes-dark")
    check_codes_unbroken(page)
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
