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
import threading
from collections.abc import Callable
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING
from typing import Any

import pytest

from tests.browser.flows import PHONE
from tests.browser.flows import Member
from tests.browser.flows import assert_no_foreign_requests
from tests.browser.flows import origin_of
from tests.browser.flows import run_demo
from tests.browser.flows import serve
from tests.live import LiveServer
from tests.live import free_port
from tests.support import needs_service

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
# The neutral site quick exit leads to is a stub served by this process on another
# port: another origin, as the real one is, but reachable offline. (Playwright's
# page.route cannot stand in for it: routes never see the target of a redirect,
# and /exit answers with a redirect.)
# Tests take its URL from the ``neutral_site`` fixture.
NEUTRAL_PAGE = b"<!doctype html><meta charset=utf-8><title>Weather</title><h1>Weather</h1>"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium; Playwright gives it a fresh, temporary profile."""
    needs_service(
        "Playwright",
        sync_playwright is not None,
        "the Python package is not installed (pip install -e '.[test]')",
    )
    needs_service(
        "Chromium",
        os.access(CHROMIUM, os.X_OK),
        f"{CHROMIUM} is missing: apt-get install -y chromium (never `playwright install`)",
    )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


class _NeutralPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(NEUTRAL_PAGE)))
        self.end_headers()
        self.wfile.write(NEUTRAL_PAGE)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="session")
def neutral_site(browser: Browser) -> Iterator[str]:
    """The stand-in for the neutral site quick exit goes to; yields its URL."""
    port = free_port()
    httpd = ThreadingHTTPServer(("127.0.0.1", port), _NeutralPage)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/weather"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def server(browser: Browser, neutral_site: str) -> Iterator[LiveServer]:
    """``python -m forum`` (the default async mode) on a free port, with a fresh SQLite database.

    Depends on ``browser`` so that a missing browser skips before a server starts.
    A module needing another configuration overrides ``origin`` with its own ``serve(...)``.
    """
    with serve(neutral_site) as live:
        yield live


@pytest.fixture(scope="session")
def admin(server: LiveServer) -> Member:
    """The instance admin ``flask --app forum demo`` makes; demo also adds the starter spaces."""
    return run_demo(server)


@pytest.fixture
def origin(server: LiveServer) -> str:
    return server.url


@pytest.fixture
def recorded() -> list[str]:
    """Every URL every context of this test requested, in order."""
    return []


def _route(origin: str, neutral_site: str) -> Callable[[Route], None]:
    """Let our origin and the neutral site through; refuse everything else.

    A safety net only: routes never see where a redirect leads. The ``request``
    recorder sees every request, redirects included, and is what the check uses.
    """
    allowed = {origin_of(origin), origin_of(neutral_site)}

    def handle(route: Route) -> None:
        if origin_of(route.request.url) in allowed:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    return handle


@pytest.fixture
def new_context(
    browser: Browser, origin: str, neutral_site: str, recorded: list[str]
) -> Iterator[Callable[..., BrowserContext]]:
    """Factory: ``new_context(**playwright_options)`` -> a phone-size context on the server.

    Relative URLs (``page.goto("/login")``) go to the server. Each context is fresh
    (no cookies or storage) and records its requests into ``recorded``. Closed at teardown, after checking nothing went abroad.
    """
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        settings: dict[str, Any] = {"viewport": PHONE, "base_url": origin, "locale": "en-GB"}
        settings.update(options)
        context = browser.new_context(**settings)
        context.set_default_timeout(10_000)
        context.on("request", lambda request: recorded.append(request.url))
        context.route("**/*", _route(origin, neutral_site))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    if contexts:
        assert_no_foreign_requests(recorded, origin, allow=[neutral_site])


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A phone-size page with JavaScript on, in its own fresh context."""
    return new_context().new_page()
