"""The header on a 360x740 phone (issue 15): two short rows, the quick exit the biggest
control in them; the first row (name, menu, quick exit) stays at the top when the page
scrolls and lies over nothing (no line end under the quick exit); the main links one tap away, Account and Log out folded into a small menu
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
from tests.browser.flows import join_space
from tests.browser.flows import open_account_menu
from tests.browser.flows import reply
from tests.browser.flows import sign_up
from tests.browser.flows import start_thread

pytestmark = pytest.mark.browser

# Was 159 px. The two rows: a 44 px row for the name, menu and quick exit (a 44 px target
# in the row, no longer floating over the page), 44 px of links, the red top line and rules.
MAX_HEIGHT = 96
LANGUAGES = {"en": "English", "ru": "Русский"}

# Every control in the header that shows, with its box and weight.
_CONTROLS_JS = """() => Array.from(document.querySelectorAll(
    'header a, header button, header summary, nav.site-nav a'))
  .filter(el => el.checkVisibility())
  .map(el => { const r = el.getBoundingClientRect();
    return {cls: el.className, text: el.textContent.trim().replace(/\\s+/g, ' '),
            x: r.left, y: r.top, w: r.width, h: r.height, area: r.width * r.height,
            weight: parseInt(getComputedStyle(el).fontWeight, 10)}; })"""

# What has keyboard focus: its class, or its tag when it has none.
_FOCUSED_JS = """() => { const el = document.activeElement;
  return el.className || el.tagName.toLowerCase(); }"""


def header_height(page) -> float:
    """The two rows at the top: the header (sticky) and the main links under it."""
    nav = page.locator("nav.site-nav").bounding_box()
    return nav["y"] + nav["height"] - page.locator("header.site-header").bounding_box()["y"]


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


# Each line of text in the page's paragraphs that lies wholly on screen below the header,
# and what the screen shows at its last letter (elementFromPoint: the topmost element).
_LINE_ENDS_JS = """() => {
  const bar = document.querySelector('header.site-header').getBoundingClientRect();
  const hidden = [];
  let seen = 0;
  for (const p of document.querySelectorAll('main p')) {
    const range = document.createRange();
    range.selectNodeContents(p);
    for (const r of range.getClientRects()) {
      if (r.width < 1 || r.top < Math.max(0, bar.bottom) || r.bottom > window.innerHeight) { continue; }
      seen += 1;
      const hit = document.elementFromPoint(r.right - 1, (r.top + r.bottom) / 2);
      if (!hit || !p.contains(hit)) {
        hidden.push({text: p.textContent.slice(0, 40), under: hit && hit.className});
      }
    }
  }
  return {seen, hidden, barTop: bar.top, scrollY: window.scrollY};
}"""


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_quick_exit_stays_at_the_top_and_covers_no_line_when_the_page_scrolls(
    new_context, admin, javascript
):
    """Scrolled anywhere in a long thread: the header row (with quick exit) stays at the
    top, and the end of every line of text on screen shows, nothing lies over it."""
    page = new_context(java_script_enabled=javascript).new_page()
    sign_up(page)
    join_space(page, "know-your-rights")
    words = "A long line of plain words that runs to the right edge of a phone screen. " * 6
    start_thread(page, "know-your-rights", "Scrolling under the header", words)
    for n in range(3):
        reply(page, f"Reply {n}. {words}")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height > 3 * page.viewport_size["height"], height  # long enough to scroll

    steps, hidden, places = 0, [], []
    for y in range(0, height, 160):
        page.evaluate(f"window.scrollTo(0, {y})")
        found = page.evaluate(_LINE_ENDS_JS)
        hidden += found["hidden"]
        exit_box = page.locator(".quick-exit").bounding_box()
        places.append((found["scrollY"], found["barTop"], exit_box))
        steps += found["seen"] > 0
    assert steps >= 5  # lines were checked at many places down the page
    assert not hidden, hidden  # no line's end lies under anything, the quick exit included
    bar_height = page.locator("header.site-header").bounding_box()["height"]
    for scroll_y, bar_top, exit_box in places:
        assert bar_top == 0, places  # the row stays at the top of the screen
        assert 0 <= exit_box["y"] and exit_box["y"] + exit_box["height"] <= bar_height, places

    # A link to a post (#fragment) lands below the header row, not under it.
    target = page.locator("article.post").last
    anchor = target.get_attribute("id")
    assert anchor, "posts carry an id to link to"
    page.goto(page.url.split("#")[0] + "#" + anchor)
    page.wait_for_function(
        "(id) => document.readyState === 'complete' && window.scrollY > 0", arg=anchor
    )
    landed = target.bounding_box()
    bar = page.locator("header.site-header").bounding_box()
    assert landed["y"] >= bar["y"] + bar["height"] - 1, (landed, bar)
    check_layout(page)
