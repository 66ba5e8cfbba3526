"""Every cookie the app sets is listed in docs/PRIVACY.md ("What your browser keeps"), and
quick exit expires each of them by name.

The walk: every page a visitor can open signed out, signing up, picking a language, every
page again signed in, the preferences form, signing out and in, quick exit. Each
``Set-Cookie`` name seen is collected, with the names the scripts in ``static/js`` write
themselves (``document.cookie = "name=..."``), and compared with the doc's table.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask.testing import FlaskClient

from forum.extensions import db
from tests.support import PASSPHRASE
from tests.support import login
from tests.support import post
from tests.support import routes
from tests.support import url_variables

ROOT = Path(__file__).resolve().parent.parent
PRIVACY = ROOT / "docs" / "PRIVACY.md"
SCRIPT_COOKIE = re.compile(r"""document\.cookie\s*=\s*["'](\w+)=""")


def listed_cookies() -> dict[str, str]:
    """The doc's "What your browser keeps" table: cookie name -> its row."""
    text = PRIVACY.read_text(encoding="utf-8")
    section = text.split("## What your browser keeps", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        found = re.match(r"\| `(\w+)` \|", line)
        if found:
            rows[found.group(1)] = line
    return rows


def names_set(response) -> set[str]:
    return {value.split("=", 1)[0].strip() for value in response.headers.getlist("Set-Cookie")}


def plain_pages(app) -> list[str]:
    """Every GET route without a variable (the pages anyone can type in)."""
    return [
        rule.rule
        for rule in routes(app, skip={"static", "main.quick_exit", "auth.logout"})
        if "GET" in rule.methods and not url_variables(rule)
    ]


def walk(app, client: FlaskClient, seen: set[str]) -> None:
    for path in plain_pages(app):
        seen |= names_set(client.get(path, headers={"Accept-Language": "es"}))


def test_every_cookie_the_app_sets_is_listed_in_privacy_md(app, space):
    seen: set[str] = set()
    browser = app.test_client()
    walk(app, browser, seen)  # signed out
    page = browser.get("/signup")
    seen |= names_set(page)
    signed_up = post(
        browser,
        "/signup",
        {"alias": "Cookie.Walker", "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE},
    )
    assert signed_up.status_code in (200, 303), signed_up.status_code
    seen |= names_set(signed_up)
    seen |= names_set(post(browser, "/language", {"lang": "ru", "next": "/"}))
    seen |= names_set(post(browser, "/discreet", {"discreet": "1", "next": "/"}))
    walk(app, browser, seen)  # signed in
    seen |= names_set(
        post(browser, "/account/preferences", {"locale": "pt", "time_zone": "Europe/Lisbon"})
    )
    seen |= names_set(post(browser, "/logout"))
    seen |= names_set(post(app.test_client(), "/language", {"lang": "fr", "next": "/"}))
    seen |= names_set(login(browser, "Cookie.Walker"))
    seen |= names_set(browser.get("/exit"))
    for script in (ROOT / "static" / "js").glob("*.js"):
        seen |= set(SCRIPT_COOKIE.findall(script.read_text(encoding="utf-8")))

    listed = listed_cookies()
    assert {"rb_session", "rb_csrf", "rb_lang", "rb_tz", "rb_discreet", "rb_left"} <= seen
    assert sorted(seen - set(listed)) == [], "list these cookies in docs/PRIVACY.md"
    assert sorted(set(listed) - seen) == [], "docs/PRIVACY.md lists cookies nothing sets"


def test_quick_exit_expires_every_cookie_by_name(app, member):
    client = app.test_client()
    login(client, member.alias)
    post(client, "/language", {"lang": "es", "next": "/"})
    client.set_cookie("rb_tz", "Europe/Madrid")
    response = client.get("/exit")
    assert '"storage"' in response.headers["Clear-Site-Data"]
    expired = {
        value.split("=", 1)[0]
        for value in response.headers.getlist("Set-Cookie")
        if re.search(r"Max-Age=0|Expires=Thu, 01 Jan 1970", value)
    }
    # Every cookie the doc lists but the two quick exit keeps or sets, by name.
    assert sorted(set(listed_cookies()) - expired - {"rb_discreet", "rb_left"}) == []
    assert client.get_cookie("rb_lang") is None and client.get_cookie("rb_tz") is None
    assert client.get_cookie("rb_left") is not None


def test_the_browsers_zone_is_never_stored_on_the_account(app, client, member):
    # The browser's zone guides the times shown; only a zone the member picks is kept.
    client.set_cookie("rb_tz", "Asia/Tokyo")
    assert 'data-tz="Asia/Tokyo"' in client.get("/account").get_data(as_text=True)
    for path in ("/", "/account", "/spaces"):
        client.get(path)
    db.session.refresh(member)
    assert member.time_zone is None and member.locale is None
