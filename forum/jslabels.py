"""The words ``static/js`` shows, in the reader's language.

Marked here (lazily) so ``make translations`` extracts them; ``base.html`` renders them
beside each script as a JSON ``data-labels`` attribute on a ``<template class="rb-labels">``
(no inline script: the CSP allows none), and each script reads it with its English word
as the fallback. ``{name}`` marks a value the script fills in.
"""

from __future__ import annotations

from babel import Locale
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from jinja2.nodes import EvalContext
from markupsafe import Markup

LABELS = {
    "chat.connecting": _l("connecting…"),
    "chat.connected": _l("live"),
    "chat.reconnecting": _l("reconnecting…"),
    "chat.offline": _l("offline"),
    "chat.menu": _l("Flag or block"),
    "chat.actions": _l("Actions for this message"),
    "chat.flag": _l("Flag"),
    "chat.block": _l("Block"),
    "chat.block_400": _l("You can't block that person."),
    "chat.block_404": _l("That message is gone."),
    "chat.block_409": _l("You have already blocked them."),
    "chat.block_429": _l("Too many tries. Please wait a moment and try again."),
    "chat.blocked": _l("Blocked. You won't see their messages any more. They are not told."),
    "chat.block_failed": _l("Could not block just now. Please try again."),
    "chat.send_anyway": _l("Send anyway"),
    "chat.edit_it": _l("Edit it"),
    "chat.join_failed": _l("Could not join the room."),
    "chat.online": _l("{n} online"),
    "chat.muted": _l("You are muted in this space for now."),
    "chat.signed_out": _l("You are signed out."),
    "chat.typing_one": _l("{name} is typing…"),
    "chat.not_member": _l("You are no longer a member of this space."),
    "chat.not_sent": _l("Not sent yet. Trying again…"),
    # an erased author's stored placeholder (forum/i18n.py STORED_DELETED), as shown
    "chat.deleted_name": _l("[deleted]"),
    "live.changed": _l("This thread was changed —"),
    "live.reload": _l("reload to see the change"),
    "live.edited": _l("edited —"),
    "live.back": _l("Back to the space"),
    "live.show": _l("show"),
    "live.gone": _l("This thread is gone: it was removed or it expired."),
    "live.not_member": _l(
        "You are no longer a member of this space, so this thread is closed to you."
    ),
    "dm.not_sent": _l("Not sent yet: trying again when the connection is back."),
    "dm.ended": _l("This conversation has ended."),
    "safety.needs_help": _l("{name} needs help now"),
    "safety.not_checked_in": _l("{name} has not checked in"),
    "safety.open": _l("Open"),
    "safety.checked_in": _l("{name} checked in."),
    "codes.copied": _l("Copied. Paste them somewhere safe, then type the code asked below."),
    "codes.copy_failed": _l("Could not copy. Select the codes in the box and copy them."),
}


# Counted words: one label per plural category of the reader's language
# ("live.new_replies.one", ".few", ".many", ".other"); the script picks one with
# Intl.PluralRules and fills in {n}.
PLURALS = {
    "live.new_replies": lambda n: ngettext(
        "%(count)s new reply", "%(count)s new replies", n, count="{n}"
    ),
    "live.new_threads": lambda n: ngettext(
        "%(count)s new thread", "%(count)s new threads", n, count="{n}"
    ),
}
# A number for every CLDR category: small ones, and a million ("many" in es, fr, pt).
_SAMPLES = (*range(0, 201), 1_000_000)


def _counted(words_for) -> dict[str, str]:
    rule = (get_locale() or Locale("en")).plural_form
    words: dict[str, str] = {}
    for n in _SAMPLES:
        words.setdefault(rule(n), words_for(n))
    return words


def labels(group: str) -> dict[str, str]:
    """One script's labels ("chat", "live", "dm", "safety", "codes"), in the current
    language: a plain dict, ready for ``tojson``. Each page carries only those of the
    scripts it loads.

    Made once per language and group in each app (the catalogues do not change while it
    runs): the counted words alone are 400 ``ngettext`` calls, half of a page's CPU when
    they were made on every view (docs/PERFORMANCE.md)."""
    locale = get_locale() or Locale("en")
    made: dict[tuple[str, str], dict[str, str]] = current_app.extensions.setdefault(
        "rb_js_labels", {}
    )
    key = (group, str(locale))
    found = made.get(key)
    if found is None:
        found = made[key] = _labels(group)
    return dict(found)


def labels_json(group: str) -> Markup:
    """:func:`labels` as the page carries them: the app's own ``tojson`` filter (escaped
    for HTML), run once per language and group in each app, not on every page (it was
    ~50 us of a page for the few dozen labels of the chat or live script)."""
    locale = get_locale() or Locale("en")
    made: dict[tuple[str, str], Markup] = current_app.extensions.setdefault("rb_js_json", {})
    key = (group, str(locale))
    found = made.get(key)
    if found is None:
        env = current_app.jinja_env
        found = made[key] = env.filters["tojson"](EvalContext(env), labels(group))
    return found


def _labels(group: str) -> dict[str, str]:
    prefix = group + "."
    found = {key: str(value) for key, value in LABELS.items() if key.startswith(prefix)}
    for key, words_for in PLURALS.items():
        if key.startswith(prefix):
            for category, text in _counted(words_for).items():
                found[f"{key}.{category}"] = text
    return found
