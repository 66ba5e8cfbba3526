"""Languages: complete catalogues, the picker, Accept-Language, lang/dir, localised times,
Socket.IO acks and JavaScript labels in the reader's language (docs/I18N.md)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel import dates as babel_dates
from babel.messages.mofile import read_mo
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale
from flask_babel import gettext

import forum
from forum import clock
from forum import i18n
from forum.extensions import db
from tests import factories
from tests.support import ORIGIN
from tests.support import csrf_token
from tests.support import english_left
from tests.support import post

ROOT = Path(forum.__file__).resolve().parent.parent
CATALOGUES = ROOT / "forum" / "translations"
LANGUAGES = ("es", "pt", "fr", "ru")
PLACEHOLDER = re.compile(r"%\([A-Za-z_]+\)[sdif]|\{[A-Za-z_]+\}")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every marked string, extracted now by pybabel into a temporary .pot."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg"]
        + ["-k", "_l", "-k", "N_", "--no-location", "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        catalog = read_po(fh)
    return {message.id if isinstance(message.id, str) else message.id[0]: message
            for message in catalog if message.id}  # fmt: skip


def _catalogue(lang: str):
    with (CATALOGUES / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh)


def _key(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def test_extraction_finds_the_strings(template):
    # Positive control: a template string, a Python error, a flash and a JS label.
    for known in (
        "Quick exit",
        "Your passphrase is not right.",
        "Welcome! You are a member now.",
        "Choose your language",
    ):
        assert known in template


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_has_every_string(template, lang):
    have = {_key(m) for m in _catalogue(lang) if m.id}
    missing = sorted(set(template) - have)
    assert not missing, f"{lang} lacks {len(missing)} strings (make translations): {missing[:10]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_empty_or_fuzzy_translation(lang):
    catalog = _catalogue(lang)
    assert not catalog.fuzzy, f"{lang}: the whole catalogue is marked fuzzy"
    bad = []
    for message in catalog:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(form.strip() for form in forms):
            bad.append(_key(message))
    assert not bad, f"{lang}: empty or fuzzy: {bad[:10]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_match(lang):
    catalog = _catalogue(lang)
    bad = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        if isinstance(message.id, str):
            wanted = sorted(PLACEHOLDER.findall(message.id))
            if sorted(PLACEHOLDER.findall(message.string)) != wanted:
                bad.append((message.id, message.string))
            continue
        singular, plural = (set(PLACEHOLDER.findall(part)) for part in message.id)
        for form in message.string:
            found = set(PLACEHOLDER.findall(form))
            # Each form names what the English plural names (the count may be spelt out
            # only where the language's form is for exactly one thing, like English).
            if not (found == plural or found == singular):
                bad.append((message.id[0], form))
    assert not bad, f"{lang}: placeholders differ: {bad[:5]}"


def test_plural_forms_follow_each_language():
    # Russian needs three forms (1 день, 2 дня, 5 дней); Babel's rule picks them.
    ru = _catalogue("ru")
    assert ru.num_plurals == 3
    days = ru.get(("%(num)d day", "%(num)d days"))
    assert days is not None and len(set(days.string)) == 3
    with open(CATALOGUES / "ru" / "LC_MESSAGES" / "messages.mo", "rb") as fh:
        from babel.support import Translations

        translations = Translations(fh)
    words = [translations.ungettext("%(num)d day", "%(num)d days", n) % {"num": n}
             for n in (1, 2, 5, 21, 22, 25)]  # fmt: skip
    assert words == ["1 день", "2 дня", "5 дней", "21 день", "22 дня", "25 дней"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalogue_matches_its_source(lang):
    """The committed .mo is what `make translations` compiles from the .po, message for
    message: nothing is compiled at run time, so a stale .mo would show old words."""
    source = _catalogue(lang)
    with (CATALOGUES / lang / "LC_MESSAGES" / "messages.mo").open("rb") as fh:
        compiled = read_mo(fh)

    def strings(catalog) -> dict:
        return {_key(m): m.string if isinstance(m.string, str) else tuple(m.string)
                for m in catalog if m.id and m.string}  # fmt: skip

    as_built, shipped = strings(source), strings(compiled)
    assert len(shipped) > 700  # positive control: the whole catalogue is there
    assert shipped == as_built


# --- the picker, Accept-Language, lang and dir -----------------------------------------


def test_accept_language_preselects_for_a_visitor(client):
    page = client.get("/", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    html = page.get_data(as_text=True)
    assert '<html lang="es" dir="ltr"' in html
    with force_locale("es"):
        assert gettext("Quick exit") in html
    assert ">Quick exit<" not in html
    # First visit: the picker asks, each language in its own words.
    for name in ("English", "Español", "Português", "Français", "Русский"):
        assert name in html
    assert 'lang="ru"' in html and 'lang="pt"' in html


def test_picker_choice_beats_accept_language_and_is_kept_in_a_cookie(client):
    client.get("/")
    response = post(client, "/language", {"lang": "fr", "next": "/login"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/login")
    assert "rb_lang=fr" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    html = client.get("/login", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert '<html lang="fr"' in html
    # Chosen: no first-visit picker any more, only the footer one.
    assert html.count('class="language-picker') == 1


def test_picker_refuses_unknown_languages_and_foreign_redirects(client):
    token = csrf_token(client, "/")
    bad = client.post("/language", data={"lang": "xx", "csrf_token": token})
    assert bad.status_code == 400
    away = client.post(
        "/language", data={"lang": "es", "next": "//evil.example/", "csrf_token": token}
    )
    assert away.status_code == 303 and away.headers["Location"] == "/"


def test_member_choice_is_kept_on_the_account(app, client, member):
    post(client, "/language", {"lang": "ru", "next": "/"})
    db.session.refresh(member)
    assert member.locale == "ru"
    html = client.get("/account", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="ru"' in html
    # The settings field that used to say "Saved." and change nothing.
    post(client, "/account/preferences", {"locale": "pt", "time_zone": "America/Sao_Paulo"})
    db.session.refresh(member)
    assert (member.locale, member.time_zone) == ("pt", "America/Sao_Paulo")
    page = client.get("/account").get_data(as_text=True)
    assert '<html lang="pt"' in page
    with force_locale("pt"):
        assert gettext("Saved.") in page
    assert ">Português</option>" in page  # named in its own words, not "pt"


def test_settings_refuse_an_unknown_time_zone(client, member):
    response = post(client, "/account/preferences", {"locale": "", "time_zone": "Mars/Base"})
    assert response.status_code == 400
    db.session.refresh(member)
    assert member.time_zone is None


def test_direction_comes_from_the_locale():
    assert i18n.direction("ar") == "rtl" and i18n.direction("he") == "rtl"
    assert i18n.direction("ru") == "ltr" and i18n.direction("es") == "ltr"


def test_a_right_to_left_catalogue_alone_adds_a_language(tmp_path, app_config, template_db):
    """Drop in a compiled Arabic catalogue: the picker offers it, named in Arabic, and
    its pages say lang="ar" dir="rtl". No code or configuration names it."""
    from babel.messages.catalog import Catalog

    from forum import create_app
    from tests.support import base_config

    target = tmp_path / "catalogues"
    for lang in LANGUAGES:
        (target / lang / "LC_MESSAGES").mkdir(parents=True)
        for kind in ("po", "mo"):
            name = f"messages.{kind}"
            (target / lang / "LC_MESSAGES" / name).write_bytes(
                (CATALOGUES / lang / "LC_MESSAGES" / name).read_bytes()
            )
    arabic = Catalog(locale="ar")
    arabic.add("Quick exit", "خروج سريع")
    (target / "ar" / "LC_MESSAGES").mkdir(parents=True)
    with (target / "ar" / "LC_MESSAGES" / "messages.mo").open("wb") as fh:
        write_mo(fh, arabic)
    config = base_config(tmp_path, BABEL_TRANSLATION_DIRECTORIES=str(target))
    app = create_app(config)
    with app.app_context():
        db.create_all()
        html = app.test_client().get("/", headers={"Accept-Language": "ar"}).get_data(as_text=True)
        db.session.remove()
    assert '<html lang="ar" dir="rtl"' in html
    assert "خروج سريع" in html
    assert i18n.native_name("ar") in html


# --- the main pages, in Spanish ----------------------------------------------------------


def test_main_pages_in_spanish_say_no_english(app, client, member, space):
    es = {"Accept-Language": "es"}
    signed_out = app.test_client()
    for path in ("/", "/login", "/signup", "/recover", "/nowhere"):
        html = signed_out.get(path, headers=es).get_data(as_text=True)
        assert '<html lang="es" dir="ltr"' in html, path
        assert not english_left(html), (path, english_left(html))

    thread = factories.make_thread(space, member, title="Hola", body="Primera")
    factories.make_post(thread, member, body="Segunda")
    room = factories.make_room(space)
    pages = [
        "/", "/spaces", f"/s/{space.slug}", f"/t/{thread.id}", "/search?q=hola", "/updates",
        "/account", f"/s/{space.slug}/chat/{room.id}", "/notices",
    ]  # fmt: skip
    for path in pages:
        response = client.get(path, headers=es)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert '<html lang="es" dir="ltr"' in html, path
        assert not english_left(html), (path, english_left(html))


def test_times_are_in_the_readers_zone_and_words(app, client, member, space):
    written = clock.now() - timedelta(days=3)
    with factories.at(written):
        old = factories.make_thread(space, member, title="t", body="b")
    recent = factories.make_thread(space, member, title="r", body="b")
    member.time_zone = "America/Mexico_City"
    member.locale = "es"
    db.session.commit()
    zone = ZoneInfo("America/Mexico_City")
    local = babel_dates.format_datetime(written, "short", tzinfo=zone, locale="es")
    in_utc = babel_dates.format_datetime(written, "short", tzinfo=ZoneInfo("UTC"), locale="es")
    assert local != in_utc  # the check below can tell the zones apart
    html = client.get(f"/t/{old.id}").get_data(as_text=True)
    assert local in html and in_utc not in html
    assert "UTC" not in html
    html = client.get(f"/t/{recent.id}").get_data(as_text=True)
    assert "hace" in html  # "hace 0 s": written just now, said in Spanish
    assert "America/Mexico_City" in client.get("/notices").get_data(as_text=True)


def test_a_visitor_without_javascript_sees_utc_and_the_browsers_zone_with_it(client, space):
    # Without JavaScript nothing tells us the zone: UTC, and the footer says so.
    assert "UTC" in client.get("/").get_data(as_text=True)
    # static/js/timezone.js sets rb_tz from the browser; the next page uses it.
    client.set_cookie("rb_tz", "Europe/Madrid")
    assert "Europe/Madrid" in client.get("/").get_data(as_text=True)
    client.set_cookie("rb_tz", "Not/AZone")
    assert "Not/AZone" not in client.get("/").get_data(as_text=True)


def test_in_five_minutes_and_five_minutes_ago(app):
    now = clock.now()
    with app.test_request_context():
        with force_locale("es"):
            assert i18n.ago(now + timedelta(minutes=5), now) == "dentro de 5 min"
            assert i18n.ago(now - timedelta(minutes=5), now) == "hace 5 min"
        with force_locale("ru"):
            assert i18n.ago(now - timedelta(minutes=5), now) == "5 мин. назад"
        with force_locale("en"):
            assert i18n.ago(now + timedelta(minutes=5), now) == "in 5 min."


def test_time_words_are_made_once_per_minute_and_read_as_babel_words_them(app, monkeypatch):
    """A page words each minute (and each "5 min ago") once: every instant in one minute
    reads the same, and each reads exactly as Babel words it on its own."""
    now = clock.now().replace(second=30, microsecond=0)
    same_minute = [now - timedelta(seconds=s) for s in (0, 10, 29)]
    calls = []
    real = i18n.format_datetime
    monkeypatch.setattr(i18n, "format_datetime", lambda *a, **k: calls.append(a) or real(*a, **k))
    with app.test_request_context(), force_locale("ru"):
        words = {i18n.when(t) for t in same_minute}
        assert len(calls) == 1 and words == {real(now, "short")}
        assert i18n.when(now + timedelta(minutes=1)) == real(now + timedelta(minutes=1), "short")
        assert len(calls) == 2
    for code in i18n.available_languages():
        with app.test_request_context(), force_locale(code):
            for seconds in (0, 0.4, 1, 59, 59.6, 60, 89, 91, 3599, 3600, 5399, 5401, 86399, 10**7):
                for delta in (timedelta(seconds=seconds), -timedelta(seconds=seconds)):
                    alone = babel_dates.format_timedelta(
                        delta, add_direction=True, format="short", threshold=1.0, locale=code
                    )
                    assert i18n.ago(now + delta, now) == alone, (code, delta)


def test_templates_find_the_catalogue_once_per_page_and_follow_a_forced_locale(
    app, client, member, monkeypatch
):
    import flask_babel
    from flask import render_template_string

    looked_up = []
    real = flask_babel.Domain.get_translations
    monkeypatch.setattr(
        flask_babel.Domain, "get_translations", lambda self: looked_up.append(1) or real(self)
    )
    member.locale = "es"
    db.session.commit()
    client.get("/")  # the first page makes the scripts' words once per language (jslabels)
    looked_up.clear()
    page = client.get("/").get_data(as_text=True)
    assert "Salida rápida" in page and page.count("<") > 100
    assert len(looked_up) <= 3, len(looked_up)  # was once per word: ~30 on this page
    words = (
        "{{ _('Quick exit') }}|{{ ngettext('%(num)d min', '%(num)d min', 3) }}"
        "|{{ _('%(a)s', a='<b>') }}"
    )
    with app.test_request_context():
        with force_locale("ru"):
            forced = render_template_string(words)
        assert render_template_string(words) == "Quick exit|3 min|&lt;b&gt;"
    assert forced.startswith(gettext_in("ru", "Quick exit")) and forced.endswith("|&lt;b&gt;")


def gettext_in(code: str, text: str) -> str:
    with force_locale(code):
        return gettext(text)


OLD_DISAPPEARS_MACRO = """{% macro disappears(expires_at) -%}
{% if expires_at %}<span class="expires" data-expires-at="{{ expires_at.isoformat() }}" \
title="{{ expires_at|when }}">{{ expires_at|disappears_in }}</span>
{%- else %}<span class="expires">{{ _('kept until deleted') }}</span>{% endif %}
{%- endmacro %}{{ disappears(value) }}"""


def test_the_disappears_label_reads_as_the_template_macro_did(app):
    """forum/expiry.py's disappears_tag replaced a macro called once per post: same bytes."""
    from flask import render_template_string

    from forum import expiry

    now = clock.now()
    for code in i18n.available_languages():
        with app.test_request_context(), force_locale(code):
            for value in (None, now + timedelta(hours=3), now + timedelta(days=40, minutes=7)):
                macro = render_template_string(OLD_DISAPPEARS_MACRO, value=value)
                assert str(expiry.disappears_tag(value)) == macro, (code, value)


# --- Socket.IO acks in the account's language --------------------------------------------


def test_socket_ack_error_arrives_in_the_accounts_language(app, client, member, socket):
    member.locale = "es"
    db.session.commit()
    sock = socket()
    ack = sock.ack("join", "not an object")
    assert ack["ok"] is False
    with app.test_request_context():
        with force_locale("es"):
            spanish = gettext("That request was not in the expected shape.")
    assert spanish != "That request was not in the expected shape."
    assert ack["error"] == spanish
    # A missing room: the service's NotFound, translated where it was raised.
    ack = sock.ack("join", {"room_id": 999_999, "after_seq": 0})
    assert ack["ok"] is False and ack["status"] == 404
    with app.test_request_context():
        with force_locale("es"):
            assert ack["error"] == gettext("We could not find that page.")


def test_socket_reads_its_handshake_language_once(app, client, member, socket, monkeypatch):
    """An account with no language of its own is answered in what its handshake asked
    for (Accept-Language here), read at connect: an event parses no header again."""
    sock = socket(headers={"Origin": ORIGIN, "Accept-Language": "es"})
    picked: list[object] = []
    original = i18n.pick_locale

    def pick_locale():
        picked.append(1)
        return original()

    monkeypatch.setattr(i18n, "pick_locale", pick_locale)
    ack = sock.ack("join", "not an object")
    with app.test_request_context():
        with force_locale("es"):
            spanish = gettext("That request was not in the expected shape.")
    assert spanish != "That request was not in the expected shape."
    assert ack["ok"] is False and ack["error"] == spanish
    assert picked == []


# --- JavaScript labels ---------------------------------------------------------------------


def test_javascript_labels_come_in_the_readers_language(app, client, member, space):
    from forum import jslabels

    member.locale = "es"
    db.session.commit()
    room = factories.make_room(space)

    def labels_on(path: str, http=client) -> dict:
        html = http.get(path).get_data(as_text=True)
        found = {}
        for block in re.findall(r"<template class=\"rb-labels\" data-labels='([^']*)'>", html):
            found.update(json.loads(unescape(block)))
        return found

    # Each page carries the words of the scripts it loads, and only those.
    chat = labels_on(f"/s/{space.slug}/chat/{room.id}")
    assert {k for k in jslabels.LABELS if k.startswith(("chat.", "safety."))} == set(chat)
    with app.test_request_context():
        with force_locale("es"):
            spanish = gettext("live")
    assert spanish != "live" and chat["chat.connected"] == spanish
    assert "{name}" in chat["safety.needs_help"]  # the script fills it in
    home = labels_on("/")
    assert "live.gone" in home and not any(k.startswith("chat.") for k in home)
    # Signed out, no script needs them: nothing is sent.
    assert labels_on("/", app.test_client()) == {}
