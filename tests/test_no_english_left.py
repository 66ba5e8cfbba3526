"""Every page, signed in as members who read Spanish (and Russian), shows no English text
the catalogue translates: a visible text node (or a title, label, placeholder, button
value) that equals an English msgid with a different translation is a leak.

The routes come from ``app.url_map`` (every GET route but the few in ``SKIP``), filled
from ``tests/hostile.py``'s world, where Olu owns a hidden space and Xan is a member with
things of every kind (a thread, chat, a report, a buddy, a check-in, an appeal...). Each
is walked as Olu (the moderator's pages) and as Xan (a member's), in each language.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po

from forum.extensions import db
from forum.models import Account
from forum.models import Space
from forum.safety.models import RightsPage
from tests.hostile import backend_app
from tests.hostile import build_world
from tests.support import WORLD_IDS
from tests.support import fill_route
from tests.support import routes
from tests.support import signed_in
from tests.support import url_variables

CATALOGUES = Path(__file__).resolve().parent.parent / "forum" / "translations"
LANGUAGES = ["es", "ru"]
SKIP = {"static", "main.quick_exit", "health.healthz"}
# Words that are the same in every language on purpose, or are names: none needed so far
# beyond what the catalogue itself leaves equal (a translation equal to its msgid is never
# a leak).
ALLOWED: set[str] = set()
READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "data-confirm")


def translated_msgids(lang: str) -> set[str]:
    """English msgids (singular and plural) whose translation in ``lang`` differs."""
    with (CATALOGUES / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale=lang)
    found = set()
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for english in ids:
            if english not in strings:
                found.add(" ".join(english.split()))
    return found - ALLOWED


class Visible(HTMLParser):
    """The text people read: text nodes outside scripts, styles and templates, and the
    attributes read aloud or shown (titles, labels, placeholders, button values)."""

    HIDDEN = {"script", "style", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.inside: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        values = dict(attrs)
        for name in READ_ATTRIBUTES:
            if values.get(name):
                self.texts.append(values[name])
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.texts.append(values["value"])
        if tag in self.HIDDEN:
            self.inside.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.inside and self.inside[-1] == tag:
            self.inside.pop()

    def handle_data(self, data: str) -> None:
        if not self.inside and data.strip():
            self.texts.append(data)


def leaks(html: str, english: set[str]) -> list[str]:
    parser = Visible()
    parser.feed(html)
    found = []
    for text in parser.texts:
        words = " ".join(text.split())
        if words in english:
            found.append(words)
        elif words.endswith((":", ".")) and words[:-1] in english:
            found.append(words)
    return found


@pytest.fixture(scope="module")
def env(tmp_path_factory, template_db):
    with backend_app(
        "sqlite", tmp_path_factory.mktemp("walk"), template_db, RB_LIMITS_ENABLED=False
    ) as app:
        world = build_world()
        hidden = db.session.scalar(sa.select(Space).where(Space.slug == world["hidden"]))
        # Every link the app makes names these by id (tests/test_discreet.py): walk those.
        world.ids["org"] = hidden.organisation_id
        world.ids["hidden_id"] = hidden.id
        world.ids["page"] = db.session.scalar(
            sa.select(RightsPage.id).where(
                RightsPage.space_id == hidden.id, RightsPage.slug == world["page"]
            )
        )
        yield app, world


def pages(app, world) -> list[str]:
    values = {name: world[key] for name, key in WORLD_IDS.items()}
    values.update(kind="post", target_id=world["post"], page_slug=world["page"], code="no-code")
    paths = []
    for rule in routes(app, SKIP):
        if "GET" not in rule.methods:
            continue
        slug = world["org"] if rule.rule.startswith("/orgs/") else world["hidden_id"]

        def value(_converter: str | None, name: str, slug: int = slug) -> object:
            return slug if name == "slug" else values[name]

        assert set(url_variables(rule)) <= {"slug", *values}, rule.rule
        paths.append(fill_route(rule, value))
    return paths


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_page_shows_english_the_catalogue_translates(env, lang):
    app, world = env
    english = translated_msgids(lang)
    for alias in world.aliases.values():
        account = db.session.scalar(sa.select(Account).where(Account.alias == alias))
        account.locale = lang
    db.session.commit()
    found = []
    for who in ("olu", "xan"):
        client = signed_in(app, world.aliases[who])
        for path in [*pages(app, world), "/no/such/page"]:
            response = client.get(path)
            assert response.status_code < 500, (who, path)
            if 300 <= response.status_code < 400 or response.mimetype != "text/html":
                continue  # a redirect, or not a page (the web app manifest)
            html = response.get_data(as_text=True)
            assert f'<html lang="{lang}"' in html, (who, path)
            found += [(who, path, text) for text in leaks(html, english)]
    assert found == [], "\n".join(map(str, found))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_signed_out_pages_show_no_english_the_catalogue_translates(env, lang):
    app, _world = env
    english = translated_msgids(lang)
    visitor = app.test_client()
    visitor.set_cookie("rb_lang", lang)
    found = []
    for path in ("/", "/login", "/signup", "/recover", "/spaces", "/no/such/page"):
        html = visitor.get(path).get_data(as_text=True)
        found += [(path, text) for text in leaks(html, english)]
    assert found == [], "\n".join(map(str, found))


def test_the_leak_finder_finds_a_leak():
    english = translated_msgids("es")
    assert "Log in" in english
    page = '<p>Entrar</p><button title="Log in">x</button><script>"Save"</script>'
    assert leaks(page, english) == ["Log in"]
    assert not re.search("Save", " ".join(leaks(page, english)))
