"""What a browser sends and keeps: only our origin, nothing left behind, quick exit."""

from __future__ import annotations

import re

import pytest

from forum import markdown
from tests.browser.flows import assert_no_foreign_requests
from tests.browser.flows import foreign_requests
from tests.browser.flows import is_signed_in
from tests.browser.flows import sign_up
from tests.browser.flows import storage_residue

TRACKER = "https://tracker.example"
EXIT = "https://neutral.example/weather"  # for the helper's own tests


# -- the helper itself (no browser needed) ------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://tracker.example/p.png",
        "http://127.0.0.1:9/x",  # same host, another port
        "https://127.0.0.1:5000/x",  # same host and port, another scheme
        "http://localhost:5000/x",  # another name for the same machine is another origin
        "data:image/png;base64,AAAA",
        "//tracker.example/p.png",
    ],
)
def test_foreign_request_is_caught(url):
    origin = "http://127.0.0.1:5000"
    assert foreign_requests([origin + "/", url], origin) == [url]
    with pytest.raises(AssertionError, match="left"):
        assert_no_foreign_requests([origin + "/", url], origin)


def test_own_origin_and_exact_allowances_pass():
    origin = "http://127.0.0.1:5000"
    recorded = [origin + "/", "http://127.0.0.1:5000/static/css/site.css?v=1", EXIT]
    assert_no_foreign_requests(recorded, origin, allow=[EXIT])
    with pytest.raises(AssertionError):
        assert_no_foreign_requests(recorded + [EXIT + "?x"], origin, allow=[EXIT])
    with pytest.raises(AssertionError, match="no requests"):
        assert_no_foreign_requests([], origin)


# -- in the browser ------------------------------------------------------------------------


@pytest.mark.browser
def test_every_page_loads_only_from_our_origin(page, origin, recorded):
    for path in ("/", "/signup", "/login", "/recover", "/no-such-page"):
        page.goto(path)
    sign_up(page)
    for path in ("/", "/account"):
        page.goto(path)
    # Positive control: the recorder saw the pages' own files, not just the documents.
    # (content-hashed names: css/site.<10 hex>.css, forum/weight.py)
    for stem, ext in (("css/site", "css"), ("js/quickexit", "js"), ("js/confirm", "js")):
        pattern = re.compile(re.escape(f"{origin}/static/{stem}.") + r"[0-9a-f]{10}\." + ext)
        assert any(pattern.fullmatch(url) for url in recorded), stem
    assert_no_foreign_requests(recorded, origin)


MARKDOWN_IMAGES = f"""\
![inline]({TRACKER}/inline.png) and ![ref][pic] and <img src="{TRACKER}/raw.png">

[pic]: {TRACKER}/reference.png

[![nested]({TRACKER}/nested.png)]({TRACKER}/target)

<{TRACKER}/autolink.png> and www.tracker.example/linkify.png
"""


def _probe_page(body: str) -> str:
    # Served without our CSP on purpose: the renderer alone must keep the browser home.
    return f"<!doctype html><meta charset=utf-8><title>probe</title><main>{body}</main>"


@pytest.mark.browser
def test_markdown_images_fetch_nothing(page, origin, recorded, browser):
    html = (
        str(markdown.render(MARKDOWN_IMAGES)) + f"<p>{markdown.render_inline(MARKDOWN_IMAGES)}</p>"
    )
    page.route(
        origin + "/__probe",
        lambda route: route.fulfill(status=200, content_type="text/html", body=_probe_page(html)),
    )
    page.goto("/__probe")
    page.wait_for_load_state("networkidle")
    assert page.locator("img").count() == 0
    assert page.locator(f'a[href="{TRACKER}/inline.png"]').count() == 2  # block and chat
    assert_no_foreign_requests(recorded, origin)

    # Positive control: the same page with a real <img> is caught by the same check.
    control: list[str] = []
    context = browser.new_context(base_url=origin)
    try:
        context.on("request", lambda request: control.append(request.url))
        context.route(
            "**/*",
            lambda route: (
                route.fulfill(
                    status=200,
                    content_type="text/html",
                    body=_probe_page(html + f'<img src="{TRACKER}/control.png" alt="">'),
                )
                if route.request.url.startswith(origin)
                else route.abort("blockedbyclient")
            ),
        )
        control_page = context.new_page()
        control_page.goto("/__probe")
        control_page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert foreign_requests(control, origin) == [f"{TRACKER}/control.png"]


def _assert_session_gone(context, origin: str) -> None:
    names = {c["name"] for c in context.cookies(origin)}
    assert "rb_session" not in names, names


@pytest.mark.browser
def test_quick_exit_ends_the_session_and_back_shows_nothing(page, origin, neutral_site):
    sign_up(page)
    page.goto("/")
    page.goto("/account")
    assert page.locator("h1").inner_text() == "Your account"

    page.locator(".quick-exit").click()
    page.wait_for_url(neutral_site)
    assert page.title() == "Weather"
    _assert_session_gone(page.context, origin)

    # quickexit.js replaced the account page in the history; Back fetches the front page
    # again (no-store), and for ten minutes after a quick exit that leads to the neutral
    # site again (forum/discreet.py).
    page.go_back()
    page.wait_for_load_state()
    assert page.url == neutral_site and page.title() == "Weather"
    # The way in: the log-in page, as a visitor: the session really is over.
    page.goto("/login?next=/account")
    assert "/login" in page.url and not is_signed_in(page)


@pytest.mark.browser
def test_escape_three_times_is_a_quick_exit(page, origin, neutral_site):
    sign_up(page)
    page.goto("/account")
    for _ in range(3):
        page.keyboard.press("Escape")
    page.wait_for_url(neutral_site)
    _assert_session_gone(page.context, origin)


EMPTY = {"localStorage": 0, "sessionStorage": 0, "indexedDB": [], "caches": [], "serviceWorkers": 0}


@pytest.mark.browser
def test_nothing_of_ours_left_in_browser_storage(page, origin, neutral_site):
    member = sign_up(page)
    for path in ("/", "/account", "/login"):
        page.goto(path)
        assert storage_residue(page) == EMPTY  # our pages store nothing

    # Something a future page might leave (a chat draft, say): quick exit must wipe it.
    page.evaluate("""() => new Promise(done => {
        localStorage.setItem('draft', 'x'); sessionStorage.setItem('draft', 'y');
        const open = indexedDB.open('rb-draft'); open.onsuccess = () => { open.result.close(); done(); };
    })""")
    left = storage_residue(page)  # positive control: the check sees what is there
    assert (left["localStorage"], left["sessionStorage"], left["indexedDB"]) == (1, 1, ["rb-draft"])

    page.locator(".quick-exit").click()
    page.wait_for_url(neutral_site)
    # Every cookie of ours is gone, the CSRF one too; only the quick-exit mark is left
    # (ten minutes, forum/discreet.py).
    assert {c["name"] for c in page.context.cookies(origin)} == {"rb_left"}
    page.goto("/login")  # the way in (other pages lead to the neutral site for a while)
    assert storage_residue(page) == EMPTY
    assert member.alias not in page.content()
    # Coming back is a first visit: no session, only what any visitor's page sets
    # (the CSRF cookie of its language picker, the time zone for times on pages).
    assert {c["name"] for c in page.context.cookies(origin)} <= {"rb_csrf", "rb_tz", "rb_left"}
