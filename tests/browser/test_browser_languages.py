"""Every language in a real browser at phone size: the words, lang/dir, times in the
reader's zone, and axe-core (0 serious or critical) with JavaScript on and off.

Cost: all main pages in Spanish (with and without JavaScript) and the signed-out and
first signed-in pages in the other four languages: about a dozen sign-ups and 60 page
loads with axe.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.browser.flows import answer_codes
from tests.browser.flows import check_accessibility
from tests.browser.flows import check_accessibility_as_rendered
from tests.browser.flows import check_layout
from tests.browser.flows import new_alias
from tests.browser.flows import read_codes
from tests.browser.flows import screenshot
from tests.support import PASSPHRASE
from tests.support import english_left

pytestmark = pytest.mark.browser

ZONE = "America/Mexico_City"


def check(page, lang: str, name: str, mirror=None) -> None:
    """The page is in ``lang`` (no English interface words left), fits 360px, passes axe
    (through ``mirror``, a JavaScript-on page, when ``page`` has JavaScript off)."""
    html = page.content()
    assert re.search(rf'<html lang="{lang}" dir="ltr"', html), (name, html[:300])
    if lang != "en":
        left = english_left(html)
        assert not left, (name, left)
    screenshot(page, f"lang-{name}")
    check_layout(page)
    if mirror is None:
        check_accessibility(page)
    else:
        check_accessibility_as_rendered(page, mirror)


def press(page, name: str) -> None:
    """Press a button by its exact visible words and wait for the next page."""
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).first.click()


def sign_up_in(page, lang: str, create: str, alias: str | None = None) -> list[str]:
    """Sign up through the form (its button is ``create`` in this language); past the codes."""
    alias = alias or new_alias("l")
    page.goto("/signup")
    page.fill("#f-alias", alias)
    page.fill("#f-passphrase", PASSPHRASE)
    page.fill("#f-passphrase2", PASSPHRASE)
    press(page, create)
    codes = read_codes(page)
    assert len(codes) >= 1, page.content()[:2000]
    return codes


def past_the_codes(page, codes: list[str]) -> None:
    """Leave the recovery-codes page: type back the code it asks for."""
    answer_codes(page, codes)


def test_a_spanish_worker_on_a_phone_without_javascript(new_context, admin):
    """The issue's "done when": she signs up, joins a space, reads and replies, every word
    in Spanish, times in her zone; JavaScript off, 360px wide."""
    # Someone already there wrote a thread (in Spanish too: user text is not checked).
    other = new_context(locale="es-ES").new_page()
    past_the_codes(other, sign_up_in(other, "es", "Crear cuenta"))
    other.goto("/s/newcomers")
    press(other, "Unirme a este espacio")
    other.goto("/s/newcomers/t/new")
    other.fill("#f-title", "Consejos para la primera semana")
    other.fill("#f-body", "¿Qué te hubiera gustado saber al empezar?")
    press(other, "Empezar tema")
    thread_url = other.url

    page = new_context(java_script_enabled=False, locale="es-ES").new_page()
    mirror = new_context().new_page()
    page.goto("/")
    check(page, "es", "es-nojs-01-front", mirror)
    assert page.locator(".language-first").count() == 1  # first visit: asked, preselected
    press(page, "Español")
    assert page.locator(".language-first").count() == 0
    page.goto("/signup")
    check(page, "es", "es-nojs-02-signup", mirror)
    codes = sign_up_in(page, "es", "Crear cuenta")
    check(page, "es", "es-nojs-03-codes", mirror)
    past_the_codes(page, codes)
    check(page, "es", "es-nojs-04-home", mirror)

    # Her time zone, chosen on the account (no JavaScript to tell us the browser's).
    page.goto("/account")
    check(page, "es", "es-nojs-05-account", mirror)
    page.select_option("#f-zone", ZONE)
    with page.expect_navigation():
        page.locator("#preferences button[type=submit]").click()
    assert ZONE in page.locator("footer").inner_text()

    page.goto("/s/newcomers")
    check(page, "es", "es-nojs-06-space", mirror)
    press(page, "Unirme a este espacio")
    check(page, "es", "es-nojs-07-joined", mirror)
    assert "Aquí apareces como" in page.content()
    with page.expect_navigation():
        page.get_by_role("link", name="Consejos para la primera semana").click()
    assert page.url == thread_url
    check(page, "es", "es-nojs-08-thread", mirror)
    page.fill("#f-body", "Avisa siempre a una amiga de dónde estás.")
    press(page, "Publicar respuesta")
    mine = page.locator("article.post", has_text="Avisa siempre a una amiga")
    assert mine.count() == 1
    assert "hace" in mine.locator(".post-meta").inner_text()  # "hace 3 s", not a UTC stamp
    check(page, "es", "es-nojs-09-replied", mirror)

    # The chat works without JavaScript too; its times are clock times in her zone.
    page.goto("/s/newcomers")
    with page.expect_navigation():
        page.locator("#chat-rooms a").first.click()
    page.fill("#chat-body", "Hola a todas")
    with page.expect_navigation():
        page.locator("#chat-form button[type=submit]").click()
    check(page, "es", "es-nojs-10-chat", mirror)
    stamp = page.locator("#chat-log li.chat-msg", has_text="Hola a todas").locator("time").first
    written = datetime.fromisoformat(stamp.get_attribute("datetime"))
    local = written.astimezone(ZoneInfo(ZONE))
    assert stamp.inner_text().strip() == f"{local.hour}:{local.minute:02d}"
    assert local.utcoffset() is not None and local.utcoffset().total_seconds() != 0


def test_spanish_with_javascript_on_the_scripts_speak_spanish(new_context, admin):
    page = new_context(locale="es-ES", timezone_id=ZONE).new_page()
    page.goto("/")
    press(page, "Español")
    past_the_codes(page, sign_up_in(page, "es", "Crear cuenta"))
    # static/js/timezone.js told the server the browser's zone: the next page uses it.
    page.goto("/account")
    assert ZONE in page.locator("footer").inner_text()
    check(page, "es", "es-js-01-account")
    for path, name in (("/spaces", "spaces"), ("/updates", "updates"), ("/search", "search")):
        page.goto(path)
        check(page, "es", f"es-js-{name}")
    page.goto("/s/newcomers")
    press(page, "Unirme a este espacio")
    check(page, "es", "es-js-space")
    page.goto("/s/newcomers")
    with page.expect_navigation():
        page.locator("#chat-rooms a").first.click()
    page.wait_for_selector('#chat .conn-state[data-state="connected"]')
    # A label static/js/chat.js wrote, from forum/jslabels.py, in Spanish.
    assert page.locator("#chat .conn-state").inner_text() == "en vivo"
    page.fill("#chat-body", "¿Alguien por aquí?")
    page.locator("#chat-form button[type=submit]").click()
    page.locator("#chat-log li.chat-msg", has_text="¿Alguien por aquí?").wait_for()
    check(page, "es", "es-js-chat")


@pytest.mark.parametrize(
    ("lang", "locale", "name", "create"),
    [
        ("en", "en-GB", "English", "Create account"),
        ("pt", "pt-BR", "Português", "Criar conta"),
        ("fr", "fr-FR", "Français", "Créer le compte"),
        ("ru", "ru-RU", "Русский", "Создать аккаунт"),
    ],
)
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_main_pages_in_every_language(new_context, admin, lang, locale, name, create, javascript):
    page = new_context(locale=locale, java_script_enabled=javascript).new_page()
    mirror = None if javascript else new_context().new_page()
    tag = f"{lang}-{'js' if javascript else 'nojs'}"
    page.goto("/")
    check(page, lang, f"{tag}-front", mirror)
    press(page, name)
    for path in ("/login", "/signup", "/recover", "/no-such-page"):
        page.goto(path)
        check(page, lang, f"{tag}-{path.strip('/') or 'front'}", mirror)
    codes = sign_up_in(page, lang, create)
    check(page, lang, f"{tag}-codes", mirror)
    past_the_codes(page, codes)
    for path in ("/", "/account", "/s/newcomers"):
        page.goto(path)
        check(page, lang, f"{tag}-{path.strip('/').replace('/', '-') or 'home'}", mirror)
