"""Languages and time zones: which ones exist, which one a reader gets, how times read.

A language exists when its compiled catalogue does (``forum/translations/<code>/
LC_MESSAGES/messages.mo``; English is the source and needs none), so a catalogue
alone adds a language: its name comes from CLDR in its own words, and its writing
direction (``dir`` on every page) from CLDR's character order.

Who gets which language: the account's choice for members; for everyone else the
``rb_lang`` cookie the picker sets; failing both, ``Accept-Language`` preselects.
Time zone: the account's, else the ``rb_tz`` cookie that ``static/js/timezone.js``
sets from the browser, else UTC (without JavaScript a signed-out reader sees UTC).
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from collections.abc import Hashable
from datetime import date
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any

from babel import Locale
from babel import UnknownLocaleError
from babel import dates as babel_dates
from flask import Flask
from flask import current_app
from flask import g
from flask import has_request_context
from flask import request
from flask_babel import format_date
from flask_babel import format_datetime
from flask_babel import format_time
from flask_babel import get_locale
from flask_babel import get_timezone
from flask_babel import get_translations
from flask_babel import gettext
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup
from markupsafe import escape

from forum import clock
from forum import jslabels

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
SOURCE_LANGUAGE = "en"
LANG_COOKIE = "rb_lang"
TZ_COOKIE = "rb_tz"
COOKIE_MAX_AGE = 365 * 24 * 3600


def N_(text: str) -> str:
    """Mark a label for the catalogue without translating it here: the template translates
    it when shown (``{{ _(label) }}``), in the reader's language."""
    return text


def catalogue_directory(app: Flask) -> Path:
    """Where the compiled catalogues are: ``BABEL_TRANSLATION_DIRECTORIES`` (Flask-Babel's
    own setting, relative to ``forum/``), by default ``forum/translations``."""
    first = str(app.config.get("BABEL_TRANSLATION_DIRECTORIES") or "translations").split(";")[0]
    return Path(app.root_path) / first


@functools.cache
def available_languages(directory: Path = TRANSLATIONS) -> tuple[str, ...]:
    """English first, then every language with a compiled catalogue there, by code."""
    found = sorted(path.parent.parent.name for path in directory.glob("*/LC_MESSAGES/messages.mo"))
    return (SOURCE_LANGUAGE, *[code for code in found if code != SOURCE_LANGUAGE])


def languages() -> tuple[str, ...]:
    """The languages this instance offers (``RB_LANGUAGES`` narrows the catalogues found)."""
    wanted = current_app.config.get("RB_LANGUAGES")
    # The catalogues found at start (init_app): a path built and hashed per call was ~25 us,
    # and every page asks twice (the locale selector and the language picker).
    found = current_app.extensions.get("rb_catalogues")
    if found is None:
        found = available_languages(catalogue_directory(current_app))
    if not wanted:
        return found
    return tuple(code for code in found if code in wanted)


@functools.cache
def native_name(code: str) -> str:
    """The language named in its own words: "Español", "Русский"."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


@functools.cache
def direction(code: str) -> str:
    """``rtl`` or ``ltr``, from CLDR: a right-to-left catalogue needs nothing else."""
    try:
        order = Locale.parse(code).character_order
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if order == "right-to-left" else "ltr"


def valid_language(value: object) -> str | None:
    """The code if this instance offers it, else None."""
    return value if isinstance(value, str) and value in languages() else None


@functools.cache
def time_zones() -> tuple[str, ...]:
    """Every IANA zone name, sorted ("UTC" among them)."""
    return tuple(sorted(zoneinfo.available_timezones() | {"UTC"}))


def valid_time_zone(value: object) -> str | None:
    """The zone name if it is a real IANA zone, else None."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    return value if value in _zone_set() else None


@functools.cache
def _zone_set() -> frozenset[str]:
    return frozenset(time_zones())


def pick_locale() -> str | None:
    """Flask-Babel's locale selector: account, then cookie, then Accept-Language."""
    if not has_request_context():
        return None  # the sweeper, the CLI: the default, English
    forced = g.get("rb_locale")
    if forced:
        return forced
    account = g.get("account")
    if account is not None and valid_language(account.locale):
        return account.locale
    chosen = valid_language(request.cookies.get(LANG_COOKIE))
    if chosen:
        return chosen
    return request.accept_languages.best_match(languages()) or SOURCE_LANGUAGE


def pick_time_zone() -> str | None:
    """Flask-Babel's time-zone selector: account, then the browser's (cookie), then UTC."""
    if not has_request_context():
        return None
    account = g.get("account")
    if account is not None and valid_time_zone(getattr(account, "time_zone", None)):
        return account.time_zone
    return valid_time_zone(request.cookies.get(TZ_COOKIE)) or "UTC"


def locale_for(account: Any, fallback: str | None = None) -> str:
    """The language to answer one account in outside a page (Socket.IO acks): the
    account's own, else ``fallback`` (a socket's: what its handshake's cookie or
    Accept-Language chose, read once at connect), else the request's."""
    if account is not None and valid_language(getattr(account, "locale", None)):
        return account.locale
    return fallback or pick_locale() or SOURCE_LANGUAGE


def language_chosen() -> bool:
    """Whether the reader has picked a language (else the first-visit picker shows)."""
    account = g.get("account")
    if account is not None and valid_language(account.locale):
        return True
    return valid_language(request.cookies.get(LANG_COOKIE)) is not None


ROLE_NAMES = {"member": N_("member"), "moderator": N_("moderator"), "owner": N_("owner")}


def role_name(role: str) -> str:
    """A membership role in the reader's words."""
    return gettext(ROLE_NAMES[role]) if role in ROLE_NAMES else role


def current_language() -> str:
    return str(get_locale() or SOURCE_LANGUAGE)


# --- times, in the reader's language and zone -------------------------------------


def same_words(kind: str, key: Hashable, make: Callable[[], str]) -> str:
    """Words for a value, made once per request, language and zone (``make`` otherwise).

    A page of 50 chat messages shows a handful of distinct "disappears in 3 hours";
    Babel takes tens of microseconds for each, every time."""
    if not has_request_context():
        return make()
    # One trip through the ``g`` proxy (each costs a context-variable lookup; a page asks
    # this a hundred times), then plain attributes.
    store = g._get_current_object()
    made = getattr(store, "_rb_words", None)
    if made is None:
        made = store._rb_words = {}
    # Flask-Babel's request context holds the locale and zone once chosen (force_locale
    # swaps them there); its getters look them up through g again each time.
    held = getattr(store, "_flask_babel", None)
    locale = getattr(held, "babel_locale", None) or get_locale()
    zone = getattr(held, "babel_tzinfo", None) or get_timezone()
    full = (kind, key, locale, zone)
    found = made.get(full)
    if found is None:
        found = made[full] = make()
    return found


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def _minute(value: datetime) -> datetime:
    """The minute an instant falls in: the short date and time formats show no seconds, so
    every instant in one minute reads the same (zones are whole minutes off UTC)."""
    return value.replace(second=0, microsecond=0)


def when(value: datetime | None) -> str:
    """A date and time, short, in the reader's zone and words ("2/12/26, 21:30")."""
    if value is None:
        return ""
    value = _aware(value)
    return same_words("when", _minute(value), lambda: format_datetime(value, "short"))


def day(value: date | datetime | None) -> str:
    """A day in the reader's words ("2 dic 2026"); a datetime in the reader's zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _aware(value).astimezone(get_timezone()).date()
    return format_date(value, "medium")


def clock_time(value: datetime | None) -> str:
    """The time of day in the reader's zone ("21:30", "9:30 PM")."""
    if value is None:
        return ""
    value = _aware(value)
    return same_words("time", _minute(value), lambda: format_time(value, "short"))


def _timedelta_words(seconds: float) -> tuple[bool, str, int]:
    """What Babel's ``format_timedelta`` (threshold 1, granularity second) words a delta
    by: its direction, the largest unit it reaches and the rounded count of it. Two deltas
    with the same key read the same, so a page words each key once."""
    for unit, per_unit in babel_dates.TIMEDELTA_UNITS:
        value = abs(seconds) / per_unit
        if value >= 1.0 or unit == "second":
            if unit == "second" and value > 0:
                value = max(1, value)
            return seconds >= 0, unit, int(round(value))
    raise AssertionError("Babel's units end with the second")


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, or how long from now: "5 min ago", "in 5 min", in the reader's words."""
    if value is None:
        return ""
    delta = _aware(value) - (now or clock.now())
    return same_words(
        "ago",
        _timedelta_words(delta.total_seconds()),
        lambda: babel_dates.format_timedelta(
            delta, add_direction=True, format="short", threshold=1.0, locale=get_locale()
        ),
    )


def posted(value: datetime | None, now: datetime | None = None) -> str:
    """When something was written: "5 min ago" within a day, else the date and time."""
    if value is None:
        return ""
    now = now or clock.now()
    if timedelta(0) <= now - _aware(value) < timedelta(days=1):
        return ago(value, now)
    return when(value)


_TIME_WORDS = {"when": when, "day": day, "time": clock_time, "ago": ago, "posted": posted}


def time_tag(value: datetime | None, kind: str = "when") -> Markup:
    """``<time>`` with the machine-readable instant and the reader's words."""
    if value is None:
        return Markup("")
    text = escape(_TIME_WORDS[kind](value))
    # isoformat() is digits, "-", ":", "+", "." and "T": nothing to escape; text is escaped.
    stamp = instant(value)
    return Markup(f'<time datetime="{stamp}">{text}</time>')  # nosec B704  # nosemgrep: semgrep.markup-on-user-text


def instant(value: datetime) -> str:
    """The machine-readable instant (ISO 8601, UTC offset included) of ``<time>`` and of the
    ``data-expires-at`` that static/js reads: the ``instant`` filter (a filter, not
    ``value.isoformat()``, which Jinja would call through its context at every row)."""
    return _aware(value).isoformat()


def zone_name() -> str:
    return str(get_timezone())


# --- gettext for templates ----------------------------------------------------------------
#
# Flask-Babel installs Jinja's newstyle gettext around ``get_translations()``, which looks
# the request's locale, domain and catalogue up again for every word (four trips through
# ``g`` and a locale identifier built each time), and Jinja's ``_`` calls ``gettext``
# through the template context twice more: about 30 words a page made that a tenth of a
# page's time. These do what Jinja's newstyle functions do (Markup when autoescaping, the
# string always %-formatted, ``num`` and ``context`` set), with the catalogue found once
# per request and locale. They take the evaluation context (is autoescaping on?), not the
# template context: Jinja hands a function that takes the context, inside a block or loop
# that set variables, a copy of the whole context made for the call (``Context.derived``),
# which cost more than the word itself.


def _translations() -> Any:
    """Flask-Babel's catalogue for this request, looked up again only when the locale object
    changes (``force_locale`` sets a new one and puts the old one back)."""
    held = g.get("_flask_babel")
    found = getattr(held, "rb_translations", None)
    if found is not None and found[0] is getattr(held, "babel_locale", None):
        return found[1]
    translations = get_translations()
    held = g.get("_flask_babel")
    if held is not None:
        held.rb_translations = (getattr(held, "babel_locale", None), translations)
    return translations


def _format(eval_ctx: EvalContext, words: str, variables: dict[str, Any]) -> str:
    if eval_ctx.autoescape:
        # As Jinja's own: the catalogue's words are trusted, % escapes the values.
        return Markup(words) % variables  # nosec B704  # nosemgrep: semgrep.markup-on-user-text
    return words % variables


@pass_eval_context
def template_gettext(eval_ctx: EvalContext, string: str, /, **variables: Any) -> str:
    return _format(eval_ctx, _translations().ugettext(string), variables)


@pass_eval_context
def template_ngettext(
    eval_ctx: EvalContext, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    variables.setdefault("num", num)
    return _format(eval_ctx, _translations().ungettext(singular, plural, num), variables)


@pass_eval_context
def template_pgettext(
    eval_ctx: EvalContext, string_ctx: str, string: str, /, **variables: Any
) -> str:
    variables.setdefault("context", string_ctx)
    return _format(eval_ctx, _translations().upgettext(string_ctx, string), variables)


@pass_eval_context
def template_npgettext(
    eval_ctx: EvalContext,
    string_ctx: str,
    singular: str,
    plural: str,
    num: int,
    /,
    **variables: Any,
) -> str:
    variables.setdefault("context", string_ctx)
    variables.setdefault("num", num)
    words = _translations().unpgettext(string_ctx, singular, plural, num)
    return _format(eval_ctx, words, variables)


# What an erased author's name, an erased thread's title and a deleted account's name in
# the moderation log are stored as (forum/models.py DELETED_NAME, threads.ERASED_TITLE):
# one English placeholder in the database, put into the reader's words when shown. An
# alias cannot be it (aliases have no brackets: forum/aliases.py).
STORED_DELETED = "[deleted]"


def shown_name(name: str | None) -> str | None:
    """A stored name or title as the reader sees it: the placeholder in their language."""
    if name == STORED_DELETED:
        return gettext("[deleted]")
    return name


def init_app(app: Flask) -> None:
    found = available_languages(catalogue_directory(app))
    app.extensions["rb_catalogues"] = found
    app.add_template_filter(shown_name, "shown_name")
    app.add_template_filter(when, "when")
    app.add_template_filter(day, "day")
    app.add_template_filter(clock_time, "clock_time")
    app.add_template_filter(ago, "ago")
    app.add_template_filter(posted, "posted")
    app.add_template_filter(time_tag, "time_tag")
    app.add_template_filter(instant, "instant")
    # After Flask-Babel's init_app, which installed its own (see "gettext for templates").
    app.jinja_env.globals.update(
        _=template_gettext,
        gettext=template_gettext,
        ngettext=template_ngettext,
        pgettext=template_pgettext,
        npgettext=template_npgettext,
    )
    app.jinja_env.globals.update(
        language_names={code: native_name(code) for code in found},
        language_dirs={code: direction(code) for code in found},
        languages=languages,
        text_direction=lambda: direction(current_language()),
        current_locale=current_language,
        language_chosen=language_chosen,
        time_zone_name=zone_name,
        js_labels=jslabels.labels,
        js_labels_json=jslabels.labels_json,
        role_name=role_name,
    )
