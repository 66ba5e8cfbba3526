"""static/js/expiry.js in headless Chromium: removal at expires_at with no network, live labels."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from datetime import timezone
from html import escape as html_escape
from pathlib import Path

import pytest
from flask_babel import force_locale
from flask_babel import gettext

from forum import expiry

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]

PAGE = """<!doctype html><html><head>
<script src="/static/js/expiry.js" defer></script></head><body>
<article id="soon" data-expires-at="2030-01-01T10:00:00Z">soon gone
  <span class="expires" data-expires-at="2030-01-01T10:00:00Z">disappears in 1 h</span></article>
<article id="later" data-expires-at="2030-01-03T09:00:30+00:00">later
  <span id="later-label" class="expires" data-expires-at="2030-01-03T09:00:30+00:00">?</span></article>
<article id="keep">kept forever</article>
<article id="junk" data-expires-at="not a date">junk date stays</article>
</body></html>"""


@pytest.fixture
def page(browser):
    """A page on the browser tests' shared Chromium (a second sync Playwright cannot start
    while that one runs), in a context of its own, with no server behind it."""
    context = browser.new_context(service_workers="block")
    tab = context.new_page()
    requests: list[str] = []
    tab.on("request", lambda r: requests.append(r.url))
    tab.requests = requests  # type: ignore[attr-defined]
    yield tab
    context.close()


def test_elements_go_at_their_time_and_labels_count_down(page):
    page.clock.install(time="2030-01-01T09:00:00Z")
    script = (ROOT / "static/js/expiry.js").read_text()

    def serve(route):
        if route.request.url.endswith("/expiry.js"):
            return route.fulfill(body=script, content_type="text/javascript")
        return route.fulfill(body=PAGE, content_type="text/html")

    page.route("http://rb.test/**", serve)
    page.goto("http://rb.test/")
    assert page.locator("#soon").count() == 1
    assert page.inner_text("#later-label") == "disappears in 2 days"
    requests_before = len(page.requests)

    page.clock.run_for("01:00:30")  # 10:00:30, past the first expiry
    assert page.locator("#soon").count() == 0
    assert page.inner_text("#later-label") == "disappears in 46 hours"
    page.clock.run_for("24:00:00")
    assert page.inner_text("#later-label") == "disappears in 22 hours"
    page.clock.run_for("23:00:00")
    assert page.locator("#later").count() == 0
    assert page.locator("#keep").count() == 1 and page.locator("#junk").count() == 1
    assert len(page.requests) == requests_before  # no network
    storage = page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]")
    assert storage == [0, 0, ""]


# Seconds left, around every boundary of the rule (a moment / minutes / hours / days).
LEFT = [
    1,
    59,
    60,
    61,
    119,
    120,
    3599,
    3600,
    3601,
    7199,
    7200,
    86399,
    86400,
    47 * 3600 + 3599,
    48 * 3600,
    48 * 3600 + 1,
    5 * 86400 + 7200,
    30 * 86400,
    365 * 86400 + 5,
]


@pytest.mark.parametrize("lang", ["en", "es", "fr", "pt"])
def test_browser_and_server_say_the_same(app, page, lang):
    """expiry.js's label (also chat.js's) and the server's disappears_in agree, word for word."""
    script = (ROOT / "static/js/expiry.js").read_text()
    with force_locale(lang):  # the phrases templates/base.html puts on <html>
        phrase = html_escape(gettext("disappears %(when)s", when="{when}"))
        soon = html_escape(gettext("disappears in a moment"))
    html = (
        f'<!doctype html><html lang="{lang}" data-disappears="{phrase}" '
        f'data-disappears-soon="{soon}"><head><script src="/expiry.js" defer></script></head></html>'
    )
    page.route(
        "http://rb.test/**",
        lambda route: route.fulfill(
            body=script if route.request.url.endswith("/expiry.js") else html,
            content_type="text/javascript"
            if route.request.url.endswith("/expiry.js")
            else "text/html; charset=utf-8",
        ),
    )
    page.goto("http://rb.test/")
    browser_says = page.evaluate(
        "(left) => left.map((s) => window.RedBrollyExpiry.label(s * 1000))", LEFT
    )
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    with force_locale(lang):
        server_says = [expiry.disappears_in(now + timedelta(seconds=s), now) for s in LEFT]
    assert browser_says == server_says
    if lang == "en":
        assert server_says[:4] == ["disappears in a moment"] * 3 + ["disappears in 1 minute"]
        assert server_says[13:16] == [
            "disappears in 47 hours",
            "disappears in 2 days",
            "disappears in 2 days",
        ]
