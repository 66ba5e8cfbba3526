"""Browser-test helpers the flows share: origin checks, sign-up and log-in through the UI.

Plain functions over a Playwright ``Page``, importable without Playwright installed
(the fixtures in ``conftest.py`` decide whether the browser tests run or skip).
New flows (spaces, chat, moderation) should use these rather than repeat them:

- :func:`assert_no_foreign_requests` on what a context recorded (the ``new_context``
  fixture already runs it when each test ends);
- :func:`sign_up`, :func:`log_in`, :func:`log_out` to get a signed-in page;
- :func:`screenshot` for a phone-size picture in ``test-artifacts/screenshots/``;
- :func:`storage_residue` for what the browser still holds for our origin;
- spaces and chat: :func:`join_space`, :func:`open_chat`, :func:`send_chat`,
  :func:`chat_seqs`; set-up outside the UI: :func:`run_demo` (an admin and the
  starter spaces), :func:`serve` (a live server with this configuration),
  :func:`make_established` (an account old enough to be trusted
  with ordinary flag weight).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tests.live import LiveServer
from tests.live import start_server
from tests.support import PASSPHRASE

if TYPE_CHECKING:
    from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = {"width": 360, "height": 740}
CODE_RE = re.compile(r"^[A-Z]{4}-[A-Z]{4}-[A-Z]{4}-[A-Z]{4}$")
_aliases = itertools.count(1)
# The server refuses a burst of sign-ups from one address; a test run makes many.
INSTANCE_CONFIG = """\
RB_LIMIT_SIGNUP = "1000 per hour"
RB_LIMIT_SIGNUP_ADDRESS = "1000 per hour"
RB_LIMIT_LOGIN = "1000 per hour"
RB_LIMIT_RECOVER = "1000 per hour"
RB_LIMIT_CHAT = "100 per 10 seconds"
RB_LIMIT_CHAT_NEW = "100 per 10 seconds"
"""


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


def assert_no_foreign_requests(
    recorded: Iterable[str], origin: str, allow: Iterable[str] = ()
) -> None:
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


def sign_up(
    page: Page, alias: str | None = None, passphrase: str = PASSPHRASE, *, answer: bool = True
) -> Member:
    """Sign up through the form; return the member with the recovery codes read off the page.
    With ``answer`` (the default) type back the code asked and go on; else stay on the
    codes page."""
    alias = alias or new_alias()
    page.goto("/signup")
    page.fill("#f-alias", alias)
    page.fill("#f-passphrase", passphrase)
    page.fill("#f-passphrase2", passphrase)
    submit(page, "Create account")
    codes = read_codes(page)
    assert len(codes) == 6, page.content()[:2000]
    assert all(CODE_RE.match(c) for c in codes), codes
    if answer:
        answer_codes(page, codes)
    return Member(alias, passphrase, codes)


def read_codes(page: Page) -> list[str]:
    """The recovery codes in the page's read-only box ("1. ABCD-EFGH-JKMN-PQRS" a line)."""
    if not page.locator("#codes-all").count():
        return []
    box = page.locator("#codes-all").input_value()
    return [line.split(". ", 1)[1].strip() for line in box.splitlines() if ". " in line]


def answer_codes(page: Page, codes: list[str]) -> None:
    """Type back the code the page asks for (its number is the form's), and go on."""
    asked = int(page.locator("input[name=ask]").get_attribute("value") or "0")
    page.fill("#f-answer", codes[asked - 1])
    with page.expect_navigation():
        page.locator("#f-answer").locator("xpath=ancestor::form").locator(
            "button[type=submit]"
        ).click()


def log_in(page: Page, alias: str, passphrase: str = PASSPHRASE) -> None:
    """Log in through the form and check that it worked."""
    page.goto("/login")
    page.fill("#f-alias", alias)
    page.fill("#f-passphrase", passphrase)
    submit(page, "Log in")
    assert is_signed_in(page), page.content()[:2000]


def log_out(page: Page) -> None:
    """Open the header's account menu and press Log out."""
    open_account_menu(page)
    submit(page, "Log out")
    assert not is_signed_in(page)


def open_account_menu(page: Page) -> None:
    """Open the header's account menu (a <details>: works with JavaScript off too)."""
    menu = page.locator("header details.account-menu")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    menu.locator("div").wait_for(state="visible")


def is_signed_in(page: Page) -> bool:
    """Whether the page's header holds the signed-in account menu with its Log out."""
    return page.locator("header .account-menu form[action='/logout'] button").count() == 1


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


# -- layout and accessibility (every page, every language) ------------------------------

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"

# Everything in the header, the main links and main that can be tapped, with the part of its box that
# shows: not inside a closed <details> (checkVisibility), and cut to the boxes that
# scroll around it (a chat message scrolled out of its box is not under the quick exit),
# and, outside the header, to what shows below it: the header row stays at the top of the
# screen (sticky, opaque), so what scrolls under it is hidden by it, as if scrolled away.
_TARGETS_JS = """() => { const bar = document.querySelector('header.site-header')
    .getBoundingClientRect();
  return Array.from(document.querySelectorAll(
    'header a, header button, nav a, main a, main button, main input, main select'))
  .filter(el => el.offsetParent !== null || getComputedStyle(el).position === 'fixed')
  .filter(el => !el.checkVisibility || el.checkVisibility())
  .map(el => { const r = el.getBoundingClientRect();
    let [x1, y1, x2, y2] = [r.left, r.top, r.right, r.bottom];
    if (!el.closest('header')) { y1 = Math.max(y1, bar.bottom); }
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (getComputedStyle(a).overflowY === 'visible') { continue; }
      const c = a.getBoundingClientRect();
      [x1, y1, x2, y2] = [Math.max(x1, c.left), Math.max(y1, c.top),
                          Math.min(x2, c.right), Math.min(y2, c.bottom)];
    }
    return {text: (el.innerText || el.name || el.id || '').trim().slice(0, 40),
            cls: el.className, x: x1, y: y1, w: Math.max(0, x2 - x1), h: Math.max(0, y2 - y1)}; });
}"""


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


# -- spaces and chat -------------------------------------------------------------------------


def check_accessibility_as_rendered(page, mirror) -> None:
    """axe-core on a page rendered with JavaScript off.

    axe needs timers, which a context without JavaScript never runs; so the very DOM
    the JavaScript-off page got (scripts left out) is served again, at the same URL and
    with the same stylesheets, to ``mirror``, a page with JavaScript on, and checked there.
    """
    html = re.sub(r"<script\b[^>]*>.*?</script>", "", page.content(), flags=re.S)
    url = page.url

    def serve_rendered(route) -> None:
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    mirror.route(url, serve_rendered)
    try:
        mirror.goto(url)
        check_accessibility(mirror)
    finally:
        mirror.unroute(url, serve_rendered)


def run_demo(server: LiveServer) -> Member:
    """``flask --app forum demo`` against the live server's database: its admin, passphrase read off."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "forum", "demo"],
        env=server.env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    alias = re.search(r"Admin alias: (\S+)", result.stdout)
    passphrase = re.search(r"Admin passphrase \(shown once, write it down\): (\S+)", result.stdout)
    assert alias and passphrase, result.stdout
    return Member(alias.group(1), passphrase.group(1), [])


def make_established(server: LiveServer, alias: str, days: int = 10) -> None:
    """Make an account ``days`` older, straight in the server's SQLite file.

    Test set-up only: trust levels need age (moderation/trust.py), and no UI
    makes time pass. Posts or messages, the other half of a level, are written
    through the UI by the test itself.
    """
    with sqlite3.connect(server.instance / "redbrolly.db", timeout=10) as db:
        db.execute("PRAGMA busy_timeout=10000")
        (created,) = db.execute(
            "SELECT created_at FROM accounts WHERE alias = ?", (alias,)
        ).fetchone()
        older = db.execute(
            "SELECT strftime('%Y-%m-%d %H:%M:%f000', ?, ?)", (created, f"-{days} days")
        ).fetchone()[0]
        db.execute("UPDATE accounts SET created_at = ? WHERE alias = ?", (older, alias))


def join_space(page: Page, slug: str, space_alias: str | None = None) -> None:
    """Join an open space from its page (optionally under a space alias)."""
    page.goto(f"/s/{slug}")
    if space_alias:
        page.locator("summary", has_text="different name").click()
        page.fill("#f-space-alias", space_alias)
    submit(page, "Join this space")
    assert "You appear here as" in page.content(), page.content()[:2000]


def start_thread(page: Page, slug: str, title: str, body: str) -> None:
    """From the space's page: New thread, fill it in, start it; lands on the thread."""
    page.goto(f"/s/{slug}")
    with page.expect_navigation():
        page.get_by_role("link", name="New thread").click()
    page.fill("#f-title", title)
    page.fill("#f-body", body)
    submit(page, "Start thread")
    assert page.locator("h1").inner_text().startswith(title)


def reply(page: Page, body: str) -> None:
    page.fill("#f-body", body)
    submit(page, "Post reply")
    assert page.locator("article.post", has_text=body).count() == 1


def open_chat(page: Page, slug: str, room: str = "General", live: bool = True) -> str:
    """Open a room from the space's page; with ``live``, wait until chat.js is connected. Returns the URL."""
    page.goto(f"/s/{slug}")
    with page.expect_navigation():
        page.locator("#chat-rooms").get_by_role("link", name=room, exact=True).click()
    if live:
        wait_live(page)
    return page.url


def wait_live(page: Page) -> None:
    page.wait_for_selector('#chat .conn-state[data-state="connected"]')


def send_chat(page: Page, text: str) -> None:
    """Type and send a message with chat.js; wait until the server acknowledged it (it shows)."""
    page.fill("#chat-body", text)
    page.locator("#chat-form").get_by_role("button", name="Send").click()
    chat_message(page, text).wait_for()


def chat_message(page: Page, text: str):
    return page.locator("#chat-log li.chat-msg", has_text=text)


def chat_seqs(page: Page) -> list[int]:
    """The message numbers shown in the room, in page order (duplicates kept: tests count them)."""
    return [
        int(s)
        for s in page.locator("#chat-log li[data-seq]").evaluate_all(
            "els => els.map(e => e.getAttribute('data-seq'))"
        )
    ]


@contextlib.contextmanager
def serve(neutral_site: str, **extra_env: str) -> Iterator[LiveServer]:
    """A live server with the browser tests' instance config; checks its log at the end."""
    instance = Path(tempfile.mkdtemp(prefix="rb-browser-"))
    (instance / "config.py").write_text(INSTANCE_CONFIG)
    live = start_server(
        extra_env={"RB_QUICK_EXIT_URL": neutral_site, **extra_env}, instance=instance
    )
    try:
        yield live
    finally:
        live.stop()
        log = live.log()
        shutil.rmtree(instance, ignore_errors=True)
    assert "Traceback" not in log, log[-5000:]
