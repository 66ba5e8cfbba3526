"""Browser-test helpers the flows share: origin checks, sign-up and log-in through the UI.

Plain functions over a Playwright ``Page``, importable without Playwright installed
(the fixtures in ``conftest.py`` decide whether the browser tests run or skip).
New flows (spaces, chat, moderation) should use these rather than repeat them:

- :func:`assert_no_foreign_requests` on what a context recorded (the ``new_context``
  fixture already runs it when each test ends);
- :func:`sign_up`, :func:`log_in`, :func:`log_out` to get a signed-in page;
- :func:`screenshot` for a phone-size picture in ``test-artifacts/screenshots/``;
- :func:`storage_residue` for what the browser still holds for our origin.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tests.conftest import PASSPHRASE

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = {"width": 360, "height": 740}
CODE_RE = re.compile(r"^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}$")
_aliases = itertools.count(1)


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased, default ports dropped."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def foreign_requests(recorded: Iterable[str], origin: str, allow: Iterable[str] = ()) -> list[str]:
    """The recorded request URLs that leave ``origin``, except exact ``allow``ed ones.

    ``data:``, ``blob:`` and every other scheme count as foreign too: our pages
    load nothing but files from their own origin.
    """
    home = origin_of(origin)
    allowed = set(allow)
    return [url for url in recorded if url not in allowed and origin_of(url) != home]


def assert_no_foreign_requests(recorded: Iterable[str], origin: str, allow: Iterable[str] = ()) -> None:
    """Fail, listing them, if any recorded request went anywhere but ``origin``.

    ``allow`` names exact URLs a flow leaves for on purpose (the quick-exit
    target), never whole hosts.
    """
    recorded = list(recorded)
    assert recorded, "no requests were recorded: the recorder is not attached"
    foreign = foreign_requests(recorded, origin, allow)
    assert not foreign, f"{len(foreign)} request(s) left {origin}: {foreign[:20]}"


@dataclass
class Member:
    """Someone who signed up through the UI: what they typed and the codes they saw."""

    alias: str
    passphrase: str
    codes: list[str]


def new_alias(prefix: str = "b") -> str:
    """An alias no other test in this run (or an earlier run on this server) uses."""
    return f"{prefix}{os.getpid() % 10000}x{next(_aliases)}t{int(time.time()) % 100000}"


def submit(page: Page, button: str) -> None:
    """Click a submit button by its visible name and wait for the next page to load."""
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def sign_up(page: Page, alias: str | None = None, passphrase: str = PASSPHRASE) -> Member:
    """Sign up through the form; return the member with the recovery codes read off the page."""
    alias = alias or new_alias()
    page.goto("/signup")
    page.fill("#f-alias", alias)
    page.fill("#f-passphrase", passphrase)
    page.fill("#f-passphrase2", passphrase)
    submit(page, "Create account")
    codes = [c.strip() for c in page.locator("ol.codes code").all_inner_texts()]
    assert len(codes) == 10, page.content()[:2000]
    assert all(CODE_RE.match(c) for c in codes), codes
    return Member(alias, passphrase, codes)


def log_in(page: Page, alias: str, passphrase: str = PASSPHRASE) -> None:
    """Log in through the form and check that it worked."""
    page.goto("/login")
    page.fill("#f-alias", alias)
    page.fill("#f-passphrase", passphrase)
    submit(page, "Log in")
    assert is_signed_in(page), page.content()[:2000]


def log_out(page: Page) -> None:
    """Press the header's Log out button."""
    submit(page, "Log out")
    assert not is_signed_in(page)


def is_signed_in(page: Page) -> bool:
    """Whether the page's header shows the signed-in navigation."""
    return page.locator(".site-nav").get_by_role("button", name="Log out").count() == 1


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Evaluated in the page: everything an origin can keep in the browser besides cookies.
_RESIDUE_JS = """async () => {
  const out = {localStorage: localStorage.length, sessionStorage: sessionStorage.length};
  out.indexedDB = indexedDB.databases ? (await indexedDB.databases()).map(d => d.name) : [];
  out.caches = self.caches ? await caches.keys() : [];
  out.serviceWorkers = navigator.serviceWorker
    ? (await navigator.serviceWorker.getRegistrations()).length : 0;
  return out;
}"""


def storage_residue(page: Page) -> dict[str, object]:
    """What our origin holds in the browser's storage (needs JavaScript on)."""
    return page.evaluate(_RESIDUE_JS)
