"""static/js/expiry.js in headless Chromium: removal at expires_at with no network, live labels."""

from __future__ import annotations

from pathlib import Path

import pytest

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
def page(browser):  # noqa: ANN001, ANN201
    """A page on the browser tests' shared Chromium (a second sync Playwright cannot start
    while that one runs), in a context of its own, with no server behind it."""
    context = browser.new_context(service_workers="block")
    tab = context.new_page()
    requests: list[str] = []
    tab.on("request", lambda r: requests.append(r.url))
    tab.requests = requests  # type: ignore[attr-defined]
    yield tab
    context.close()


def test_elements_go_at_their_time_and_labels_count_down(page):  # noqa: ANN001
    page.clock.install(time="2030-01-01T09:00:00Z")
    script = (ROOT / "static/js/expiry.js").read_text()

    def serve(route):  # noqa: ANN001, ANN202 - an origin of our own, answered in-process
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
    assert page.inner_text("#later-label") == "disappears in 46 h"
    page.clock.run_for("24:00:00")
    assert page.inner_text("#later-label") == "disappears in 22 h"
    page.clock.run_for("23:00:00")
    assert page.locator("#later").count() == 0
    assert page.locator("#keep").count() == 1 and page.locator("#junk").count() == 1
    assert len(page.requests) == requests_before  # no network
    storage = page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]")
    assert storage == [0, 0, ""]
