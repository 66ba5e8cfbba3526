"""Fixtures for the browser tests: a real server, Debian's Chromium, phone-size contexts.

The server is started the way production starts it (``flask init-db`` then
``python -m forum`` under eventlet) once per run; each test signs up its own
members, so tests stay independent. Every context records every request it
makes; when the test ends, any request that left the app's origin fails it.

Locally, without Playwright or Chromium, these tests skip; with ``CI=true`` they fail.
Chromium is Debian's (``apt-get install chromium``), never one a test tool downloads.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

import pytest

from tests.browser.flows import PHONE
from tests.browser.flows import assert_no_foreign_requests
from tests.browser.flows import origin_of
from tests.conftest import needs_service
from tests.live import LiveServer
from tests.live import start_server

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # a local checkout without the test extra
    sync_playwright = None

if TYPE_CHECKING:
    from playwright.sync_api import Browser
    from playwright.sync_api import BrowserContext
    from playwright.sync_api import Page
    from playwright.sync_api import Route

CHROMIUM = os.environ.get("RB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The neutral site quick exit leads to. The machine may be offline, so the
# contexts answer it with a stub page instead of letting the request out.
QUICK_EXIT_URL = "https://neutral.example/weather"
NEUTRAL_PAGE = "<!doctype html><title>Weather</title><h1>Weather</h1>"
# The server refuses a burst of sign-ups from one address; a test run makes many.
INSTANCE_CONFIG = """\
RB_LIMIT_SIGNUP = "1000 per hour"
RB_LIMIT_LOGIN = "1000 per hour"
RB_LIMIT_RECOVER = "1000 per hour"
"""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium; Playwright gives it a fresh, temporary profile."""
    needs_service("Playwright", sync_playwright is not None,
                  "the Python package is not installed (pip install -e '.[test]')")
    needs_service("Chromium", os.access(CHROMIUM, os.X_OK),
                  f"{CHROMIUM} is missing: apt-get install -y chromium (never `playwright install`)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def server(browser: Browser) -> Iterator[LiveServer]:
    """``python -m forum`` under eventlet on a free port, with a fresh SQLite database.

    Depends on ``browser`` so that a missing browser skips before a server starts.
    """
    instance = Path(tempfile.mkdtemp(prefix="rb-browser-"))
    (instance / "config.py").write_text(INSTANCE_CONFIG)
    live = start_server("eventlet", extra_env={"RB_QUICK_EXIT_URL": QUICK_EXIT_URL}, instance=instance)
    yield live
    live.stop()
    log = live.log()
    shutil.rmtree(instance, ignore_errors=True)
    assert "Traceback" not in log, log[-5000:]


@pytest.fixture
def origin(server: LiveServer) -> str:
    return server.url


@pytest.fixture
def recorded() -> list[str]:
    """Every URL every context of this test requested, in order."""
    return []


def _route(origin: str) -> Callable[[Route], None]:
    """Let our origin through, answer the neutral site, refuse everything else."""
    home = origin_of(origin)

    def handle(route: Route) -> None:
        url = route.request.url
        if origin_of(url) == home:
            route.continue_()
        elif url == QUICK_EXIT_URL:
            route.fulfill(status=200, content_type="text/html", body=NEUTRAL_PAGE)
        else:
            route.abort("blockedbyclient")

    return handle


@pytest.fixture
def new_context(browser: Browser, origin: str, recorded: list[str]) -> Iterator[Callable[..., BrowserContext]]:
    """Factory: ``new_context(**playwright_options)`` -> a phone-size context on the server.

    Relative URLs (``page.goto("/login")``) go to the server. Each context is fresh
    (no cookies or storage), records its requests into ``recorded`` and lets none
    leave the machine. Closed at teardown, after checking nothing went abroad.
    """
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        settings: dict[str, Any] = {"viewport": PHONE, "base_url": origin, "locale": "en-GB"}
        settings.update(options)
        context = browser.new_context(**settings)
        context.set_default_timeout(10_000)
        context.on("request", lambda request: recorded.append(request.url))
        context.route("**/*", _route(origin))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    if contexts:
        assert_no_foreign_requests(recorded, origin, allow=[QUICK_EXIT_URL])


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A phone-size page with JavaScript on, in its own fresh context."""
    return new_context().new_page()
