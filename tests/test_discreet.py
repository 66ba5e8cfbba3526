"""Discreet by default where it matters (issue 15, item 2).

Browser history keeps every URL visited and its page title. Nothing the app generates
(links, form actions, redirects, the URLs scripts build from data attributes) names a
space, an organisation or a safety guide by its slug or its name: they are named by
their id. In discreet mode every page title is the neutral name.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urljoin
from urllib.parse import urlsplit

from forum import orgs
from forum.extensions import db
from forum.models import OrgStaff
from forum.safety import rights
from tests import factories
from tests.support import PASSPHRASE
from tests.support import login
from tests.support import post

SLUG = "hiv-peer-support"
NAME = "HIV peer support"
# Every attribute that holds a URL the browser may visit (or a script may build one from).
URL_ATTRIBUTE = re.compile(r'\s(?:href|action|src|formaction|data-[a-z-]*url)="([^"]*)"')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
NEVER_VISIT = ("/exit", "/logout", "/static/")


def _world(member):
    """A closed space on a sensitive subject that the member owns, with some of everything."""
    space = factories.make_space("closed", owner=member, name=NAME, slug=SLUG)
    thread = factories.make_thread(space, member, title="Clinic hours", body="Open on Monday")
    factories.make_post(thread, member, body="Thanks")
    factories.make_room(space)
    db.session.commit()
    return space, thread


def _urls(html: str) -> list[str]:
    return [u.replace("&amp;", "&") for u in URL_ATTRIBUTE.findall(html)]


def _crawl(client, start: str = "/", limit: int = 150, *more: str) -> dict[str, str]:
    """Every same-origin page reachable by GET from ``start`` (and ``more``): {path: html}."""
    seen: dict[str, str] = {}
    queue = deque([start, *more])
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen or path.startswith(NEVER_VISIT):
            continue
        response = client.get(path)
        if response.status_code in (301, 302, 303, 307, 308):  # no page: where it leads
            location = response.headers.get("Location", "")
            _says_nothing("a redirect", location)
            seen[path] = ""
            parts = urlsplit(urljoin("http://localhost" + path, location))
            if parts.netloc in ("localhost", "") and parts.path not in seen:
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
            continue
        if response.mimetype != "text/html":
            seen[path] = ""  # the manifest: tested below
            continue
        html = response.get_data(as_text=True)
        seen[path] = html
        for url in _urls(html):
            parts = urlsplit(urljoin("http://localhost" + path, url))
            if parts.netloc in ("localhost", "") and parts.path not in seen:
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return seen


def _says_nothing(where: str, value: str) -> None:
    lowered = value.lower()
    assert SLUG not in lowered and NAME.lower() not in lowered, f"{where}: {value}"
    assert not re.search(r"\bhiv\b", lowered), f"{where}: {value}"


def test_generated_urls_and_redirects_name_spaces_by_id(client, member):
    space, thread = _world(member)
    pages = _crawl(client)
    space_pages = [p for p in pages if p.startswith(f"/s/{space.id}")]
    # The crawl reached the space's pages (by its id): the settings, invites, moderation
    # log and queue, chat, the new-thread form...
    assert len(space_pages) >= 8, sorted(pages)
    assert f"/t/{thread.id}" in pages
    for path, html in pages.items():
        _says_nothing("URL visited", path)
        for url in _urls(html):
            _says_nothing(f"a URL on {path}", url)
    # Redirects after the forms a member uses in a space.
    answers = [
        post(client, f"/s/{space.id}/t/new", {"title": "Dates", "body": "When?"}),
        post(client, f"/t/{thread.id}/reply", {"body": "Me too"}),
        post(client, f"/s/{space.id}/invites", {"max_uses": "1", "days": "1"}),
        post(client, f"/s/{space.id}/chat/rooms", {"name": "Evening"}),
        post(
            client,
            f"/s/{space.id}/settings",
            {"name": NAME, "description": "Peer", "kind": "closed"},
        ),
    ]
    for answer in answers:
        error = re.findall(r'role="alert">([^<]*)', answer.get_data(as_text=True))
        assert answer.status_code in (201, 303), (answer.request.path, error)
        _says_nothing("a redirect", answer.headers.get("Location", ""))
        for url in _urls(answer.get_data(as_text=True)):
            _says_nothing("a URL in an answer", url)


GUIDE = "HIV testing near you"  # its slug: hiv-testing-near-you
ORG = "HIV Outreach"


def _guide_and_org(member, space):
    """A safety guide in the space, and an organisation the member is staff of, both named
    after the subject."""
    org = orgs.create_org(factories.make_account("Zola", admin=True), name=ORG)
    db.session.add(OrgStaff(organisation_id=org.id, account_id=member.id))
    db.session.commit()
    page = rights.create_page(member, space.id, title=GUIDE, body="Ask at the clinic.")
    return page, org


def test_guides_and_organisations_are_named_by_id(client, member):
    space, _thread = _world(member)
    page, org = _guide_and_org(member, space)
    assert "hiv" in page.slug and "hiv" in org.slug  # what must not reach history
    pages = _crawl(client, "/", 150, "/orgs")
    # The crawl reached the guide, its edit form and the organisation, by their ids.
    assert f"/s/{space.id}/pages/{page.id}" in pages, sorted(pages)
    assert f"/s/{space.id}/pages/{page.id}/edit" in pages
    assert f"/orgs/{org.id}" in pages and f"/orgs/{org.id}/spaces/new" in pages
    for path, html in pages.items():
        _says_nothing("URL visited", path)
        for url in _urls(html):
            _says_nothing(f"a URL on {path}", url)
    # Where the forms lead: a new guide, an edited one, a deleted one, staff added.
    other = factories.make_account("Bea")
    answers = [
        post(client, f"/s/{space.id}/pages/new", {"title": "HIV meds", "body": "Ask."}),
        post(
            client,
            f"/s/{space.id}/pages/{page.id}/edit",
            {"title": GUIDE, "body": "Ask again.", "reviewed_on": "", "review_days": ""},
        ),
        post(client, f"/s/{SLUG}/pages/{page.slug}/delete"),  # an old link, even
    ]
    member.is_admin = True  # staff are added and removed by an admin
    db.session.commit()
    answers += [
        post(client, f"/orgs/{org.slug}/staff", {"alias": other.alias}),
        post(client, f"/orgs/{org.slug}/staff/{other.id}/remove"),
        post(client, "/orgs", {"name": "HIV Care", "slug": "", "description": ""}),
    ]
    for answer in answers:
        error = re.findall(r'role="alert">([^<]*)', answer.get_data(as_text=True))
        assert answer.status_code == 303, (answer.request.path, error)
        _says_nothing("a redirect", answer.headers["Location"])


def test_old_guide_and_organisation_urls_still_resolve(client, member):
    space, _thread = _world(member)
    page, org = _guide_and_org(member, space)
    for old, new, name in [
        (f"/s/{SLUG}/pages/{page.slug}", f"/s/{space.id}/pages/{page.id}", GUIDE),
        (f"/orgs/{org.slug}", f"/orgs/{org.id}", ORG),
    ]:
        by_slug, by_id = client.get(old), client.get(new)
        assert by_slug.status_code == by_id.status_code == 200, old
        # The same page (the footer's way back names the path typed, nothing more; CSRF
        # tokens carry the second they were made).
        scrub = re.compile(r'name="csrf_token" value="[^"]*"')
        same = scrub.sub("", by_slug.get_data(as_text=True).replace(old, new))
        assert name in same and same == scrub.sub("", by_id.get_data(as_text=True))
    # An id from another space, or none at all, is the missing page.
    elsewhere = factories.make_space("open", owner=member, name="Elsewhere")
    assert client.get(f"/s/{elsewhere.id}/pages/{page.id}").status_code == 404
    assert client.get(f"/s/{space.id}/pages/99999").status_code == 404
    assert client.get("/orgs/99999").status_code == 404


def test_old_slug_urls_still_resolve(client, member):
    space, _thread = _world(member)
    by_slug = client.get(f"/s/{SLUG}")
    by_id = client.get(f"/s/{space.id}")
    assert by_slug.status_code == by_id.status_code == 200
    assert NAME in by_id.get_data(as_text=True)


def test_in_discreet_mode_no_title_says_anything(client, member):
    _world(member)
    post(client, "/account/preferences", {"discreet": "1", "locale": "en"})
    pages = _crawl(client)
    assert len(pages) > 20
    for path, html in pages.items():
        if not html:
            continue
        titles = TITLE.findall(html)
        assert titles == ["Notes"], f"{path}: {titles}"
        assert "Red Brolly" not in html and "umbrella" not in html.lower(), path


# --- discreet mode on the device ------------------------------------------------------

SIGNED_OUT = ("/", "/login", "/signup", "/recover", "/nowhere", "/s/1", "/t/1")
SUBJECT = re.compile(r"red brolly|sex work|umbrella|favicon\.|for work elsewhere", re.I)


def _switch(client, on: bool, next_path: str = "/"):
    return post(client, "/discreet", {"discreet": "1" if on else "0", "next": next_path})


def test_signed_out_pages_are_neutral_with_the_device_cookie(client):
    answer = _switch(client, True, "/signup")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/signup")
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("rb_discreet=1;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    for path in SIGNED_OUT:
        html = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert TITLE.findall(html) == ["Notes"], path
        assert "favicon-discreet." in html, path
        said = SUBJECT.findall(html.replace("favicon-discreet.", ""))
        assert said == [], (path, said)
    # And back: the full look, with its name.
    _switch(client, False)
    assert "Red Brolly" in client.get("/").get_data(as_text=True)


def test_a_new_device_keeps_nothing_branded_until_it_chooses(client, make_account):
    """What history, tabs and the home screen keep (title, icon, manifest) is neutral
    from a device's very first page; the first-visit panel offers the choice."""
    make_account("Amara")
    for path in SIGNED_OUT:
        html = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert TITLE.findall(html) == ["Notes"], path
        icon = re.search(r'<link rel="icon" href="([^"]+)"', html).group(1)
        assert "favicon-discreet." in icon, path
        panel = re.search(r'<form class="[^"]*look-first[^"]*".*?</form>', html, re.S)
        assert panel and 'action="/discreet"' in panel.group(0), path
        assert 'value="1"' in panel.group(0) and 'value="0"' in panel.group(0)
    assert client.get("/manifest.webmanifest").get_json(force=True)["name"] == "Notes"
    assert not any(c.startswith("rb_discreet") for c in _cookies(client.get("/")))
    # A member signing in on it: still neutral (the account's setting is off, the device
    # has not chosen), with a page of their own too.
    login(client, "Amara")
    assert TITLE.findall(client.get("/spaces").get_data(as_text=True)) == ["Notes"]
    assert "look-first" in client.get("/").get_data(as_text=True)  # their home page asks
    post(client, "/account/preferences", {"locale": "en"})  # saving a language chooses nothing
    assert TITLE.findall(client.get("/spaces").get_data(as_text=True)) == ["Notes"]
    # Choosing the full look in the panel: the brand, in the title and the icon; no panel.
    answer = _switch(client, False, "/spaces")
    assert any(c.startswith("rb_discreet=0;") and "Max-Age=31536000" in c for c in _cookies(answer))
    html = client.get("/spaces").get_data(as_text=True)
    assert TITLE.findall(html) == ["Spaces · Red Brolly"]
    assert re.search(r'<link rel="icon" href="/static/img/favicon\.', html)
    assert "look-first" not in html
    # Choosing the plain look: neutral everywhere, and no panel either.
    _switch(client, True)
    html = client.get("/spaces").get_data(as_text=True)
    assert TITLE.findall(html) == ["Notes"] and "look-first" not in html


def _cookies(answer) -> list[str]:
    return answer.headers.getlist("Set-Cookie")


def test_the_switch_in_every_footer_works_without_an_account(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'action="/discreet"' in html and 'name="discreet" value="1"' in html
    _switch(client, True)
    assert 'name="discreet" value="0"' in client.get("/login").get_data(as_text=True)


def test_error_pages_stay_identical_for_hidden_and_missing_in_discreet_mode(client, member):
    hidden = factories.make_space("hidden", name=NAME, slug=SLUG)
    _switch(client, True)
    missing = client.get("/s/999999")
    hidden_answer = client.get(f"/s/{hidden.id}")
    assert missing.status_code == hidden_answer.status_code == 404
    scrub = re.compile(r'name="csrf_token" value="[^"]*"')
    assert scrub.sub("", missing.get_data(as_text=True)) == scrub.sub(
        "", hidden_answer.get_data(as_text=True)
    )
    assert TITLE.findall(missing.get_data(as_text=True)) == ["Notes"]


def test_precedence_device_or_account_and_login_carries_the_account_setting(app, client, member):
    # The account's setting: on at log-in on a new device, the device cookie follows.
    post(client, "/account/preferences", {"discreet": "1", "locale": "en"})
    other = app.test_client()
    answer = post(other, "/login", {"alias": "Amara", "passphrase": PASSPHRASE})
    assert "rb_discreet=1" in ";".join(answer.headers.getlist("Set-Cookie"))
    # Logging out keeps the device's choice.
    post(other, "/logout")
    assert TITLE.findall(other.get("/").get_data(as_text=True)) == ["Notes"]
    # Switching off while signed in turns off the account's setting too.
    _switch(client, False)
    db.session.refresh(member)
    assert member.discreet is False
    assert "Red Brolly" in client.get("/").get_data(as_text=True)
    # A device that is discreet stays so for a member whose account says off.
    _switch(client, True)
    post(client, "/account/preferences", {"locale": "en"})  # unticked: both off
    assert "Red Brolly" in client.get("/").get_data(as_text=True)
    client.set_cookie("rb_discreet", "1")
    assert TITLE.findall(client.get("/").get_data(as_text=True)) == ["Notes"]


def test_quick_exit_keeps_the_devices_discreet_mode(client, member):
    _switch(client, True)
    client.set_cookie("rb_lang", "es")
    client.set_cookie("rb_tz", "Europe/Madrid")
    answer = client.get("/exit")
    assert answer.headers["Clear-Site-Data"] == '"cache", "storage"'
    cookies = answer.headers.getlist("Set-Cookie")
    assert any(c.startswith("rb_discreet=1;") for c in cookies), cookies
    # Every other cookie of ours is deleted by name (the CSRF one, the language, the zone).
    for name in ("rb_session", "rb_csrf", "rb_lang", "rb_tz"):
        assert any(c.startswith(f"{name}=;") and "Max-Age=0" in c for c in cookies), name


def test_after_quick_exit_only_the_way_in_opens_our_pages(app, client, member):
    exit_url = app.config["RB_QUICK_EXIT_URL"]
    answer = client.get("/exit")
    assert any(
        c.startswith("rb_left=1;") and "Max-Age=600" in c and "HttpOnly" in c
        for c in answer.headers.getlist("Set-Cookie")
    )
    # Back (the pages are no-store: fetched again) leads to the neutral site again.
    for path in ("/", "/account", "/s/1", "/t/1", "/nowhere", "/spaces"):
        again = client.get(path)
        assert again.status_code == 303 and again.headers["Location"] == exit_url, path
    # The way in opens, and logging in ends the mark.
    assert client.get("/login").status_code == 200
    assert client.get("/signup").status_code == 200
    answer = post(client, "/login", {"alias": "Amara", "passphrase": PASSPHRASE})
    assert any(c.startswith("rb_left=;") for c in answer.headers.getlist("Set-Cookie"))
    assert client.get("/account").status_code == 200


# --- the web app manifest -------------------------------------------------------------


def test_the_manifest_follows_discreet_mode_from_the_cookie(client):
    html = client.get("/").get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest" crossorigin="use-credentials">' in (
        html
    )  # with credentials: the browser sends the cookie that decides its name
    answer = client.get("/manifest.webmanifest")
    assert answer.mimetype == "application/manifest+json"
    assert answer.headers["Cache-Control"] == "no-store"
    first = answer.get_json(force=True)  # a device that has chosen nothing: neutral
    assert first["name"] == first["short_name"] == "Notes"
    assert first["start_url"] == "/"
    assert first["icons"][0]["src"].startswith("/static/img/favicon-discreet.")

    _switch(client, False)  # the full look, chosen
    full = client.get("/manifest.webmanifest").get_json(force=True)
    assert full["name"] == full["short_name"] == "Red Brolly"
    assert full["icons"][0]["src"].startswith("/static/img/favicon.")

    _switch(client, True)
    plain = client.get("/manifest.webmanifest").get_json(force=True)
    assert plain["name"] == plain["short_name"] == "Notes"
    assert plain["icons"][0]["src"].startswith("/static/img/favicon-discreet.")
    assert not SUBJECT.search(client.get("/manifest.webmanifest").get_data(as_text=True))
    # Every URL in it is our own origin's.
    assert all(u["src"].startswith("/") for u in plain["icons"])
    client.set_cookie("rb_lang", "es")
    assert client.get("/manifest.webmanifest").get_json(force=True)["name"] == "Notas"


def test_no_service_worker_caches_anything():
    from pathlib import Path

    static = Path(__file__).resolve().parent.parent / "static"
    scripts = [p for p in static.rglob("*.js") if "vendor" not in p.parts]
    assert scripts  # positive control
    for script in scripts:
        assert "serviceWorker" not in script.read_text(encoding="utf-8"), script
