"""Notices and log reasons are stored as a code and its values, and worded when read.

A notice (``moderation/notices.py``) and the reason of a log line
(``moderation/modlog.py``) are written once and read later, often by someone who reads
another language than the moderator who acted. So neither stores a sentence: a notice
keeps a ``code`` (a key of ``NOTICES``) and its values (ids, numbers, flag-reason keys
and the moderator's reason exactly as typed); a log line keeps the typed reason and a
``reason_code`` (a key of ``REASONS``) with its values. The sentence is made here, at
display time, in the reader's language (Flask-Babel ``gettext``/``ngettext``, the same
placeholders in every catalogue).

Rows written before codes existed (migration 0020 maps the sentences it knows) keep
their English text and show it as it is.

Every value may be missing or of the wrong type (a row from an older version, or one
written by hand): wording never raises; it says what it can.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from forum import access
from forum.i18n import N_
from moderation.models import REASONS as FLAG_REASONS

# What a notice is about, in the words its sentences use.
NOUNS = {
    "post": N_("post"),
    "thread": N_("thread"),
    "chat": N_("chat message"),
    "report": N_("report"),
    "dm": N_("direct message"),
}


def _noun(values: Mapping[str, Any]) -> str:
    kind = values.get("kind")
    return _(NOUNS[kind]) if isinstance(kind, str) and kind in NOUNS else _("item")


def flag_reasons(keys: object) -> str:
    """Flag reasons (``moderation/models.py`` ``REASONS`` keys) as a reader's list."""
    if not isinstance(keys, list):
        return ""
    labels = {_(FLAG_REASONS[k]).lower() for k in keys if isinstance(k, str) and k in FLAG_REASONS}
    return ", ".join(sorted(labels))


def _number(values: Mapping[str, Any], name: str) -> int | None:
    value = values.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- Log reasons ----------------------------------------------------------------------
#
# ``reason_code`` says where a reason came from when the moderator typed none; the
# values may add a duration (``hours`` for a mute, ``days`` for a suspension).


def _flagged_by_members(values: Mapping[str, Any]) -> str:
    return _("Flagged by members: %(reasons)s", reasons=flag_reasons(values.get("reasons")))


def _flagged(values: Mapping[str, Any]) -> str:
    return _("Flagged: %(reasons)s", reasons=flag_reasons(values.get("reasons")))


def _personal(_values: Mapping[str, Any]) -> str:
    return _("Personal information removed")


REASONS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    # The members' flags hid it (auto_hide): their reasons.
    "flagged_by_members": _flagged_by_members,
    # A moderator acted on flagged content and typed no reason: the flags' reasons.
    "flagged": _flagged,
    # A redaction with no typed reason.
    "personal": _personal,
}


def reason(typed: str | None, code: str | None, values: object) -> str:
    """A log line's reason in the reader's words: the typed reason, else the code's
    sentence; with the duration, if any ("" when there is nothing to say)."""
    values = values if isinstance(values, dict) else {}
    said = typed or ""
    if not said and code in REASONS:
        said = REASONS[code](values)
    hours, days = _number(values, "hours"), _number(values, "days")
    if hours is not None:
        if said:
            return ngettext(
                "%(reason)s (%(num)s hour)", "%(reason)s (%(num)s hours)", hours, reason=said
            )
        return ngettext("%(num)s hour", "%(num)s hours", hours)
    if days is not None:
        if said:
            return ngettext(
                "%(reason)s (%(num)s day)", "%(reason)s (%(num)s days)", days, reason=said
            )
        return ngettext("%(num)s day", "%(num)s days", days)
    return said


def notice_reason(values: Mapping[str, Any]) -> str:
    """The "Reason: ..." of a notice: typed, else from the flags, else "not given"."""
    typed = values.get("reason")
    if isinstance(typed, str) and typed:
        return typed
    code = values.get("reason_code")
    if isinstance(code, str) and code in REASONS:
        return REASONS[code](values)
    return _("not given")


# --- Notices --------------------------------------------------------------------------
#
# Each code's values: ``space`` (a space id, worded as its name), ``kind`` (the content's
# kind), ``reason``/``reason_code``/``reasons`` (see ``notice_reason``), ``hours``.


def _flag_hidden(v: Mapping[str, Any], space: str) -> str:
    return _(
        'Your %(item)s in "%(space)s" was hidden after members flagged it (%(reasons)s). '
        "A moderator will review it. You can edit it (if it can be edited) or appeal.",
        item=_noun(v),
        space=space,
        reasons=flag_reasons(v.get("reasons")),
    )


def _hidden(v: Mapping[str, Any], space: str) -> str:
    return _(
        'A moderator hid your %(item)s in "%(space)s". Reason: %(reason)s. '
        "You can edit it or appeal.",
        item=_noun(v),
        space=space,
        reason=notice_reason(v),
    )


def _deleted(v: Mapping[str, Any], space: str) -> str:
    return _(
        'A moderator deleted your %(item)s in "%(space)s". Reason: %(reason)s. You can appeal.',
        item=_noun(v),
        space=space,
        reason=notice_reason(v),
    )


def _redacted(v: Mapping[str, Any], space: str) -> str:
    return _(
        'A moderator took personal information out of your %(item)s in "%(space)s". '
        "The rest is kept.",
        item=_noun(v),
        space=space,
    )


def _muted(v: Mapping[str, Any], space: str) -> str:
    return ngettext(
        'A moderator muted you in "%(space)s" for %(num)s hour. Reason: %(reason)s. '
        "You can appeal.",
        'A moderator muted you in "%(space)s" for %(num)s hours. Reason: %(reason)s. '
        "You can appeal.",
        _number(v, "hours") or 0,
        space=space,
        reason=notice_reason(v),
    )


def _removed(v: Mapping[str, Any], space: str) -> str:
    return _(
        'A moderator removed you from "%(space)s". Reason: %(reason)s.',
        space=space,
        reason=notice_reason(v),
    )


def _held(v: Mapping[str, Any], space: str) -> str:
    return _(
        'Your %(item)s in "%(space)s" is waiting for a moderator: it contains a word this '
        "space's moderators check first. Nobody else sees it until they approve it.",
        item=_noun(v),
        space=space,
    )


def _appeal_refused(_v: Mapping[str, Any], space: str) -> str:
    return _('Your appeal in "%(space)s" was looked at again. The decision stays.', space=space)


def _appeal_undone(_v: Mapping[str, Any], space: str) -> str:
    return _('Your appeal in "%(space)s" succeeded: the decision is undone.', space=space)


def _appeal_shown(_v: Mapping[str, Any], space: str) -> str:
    return _('Your appeal in "%(space)s" succeeded: your post shows again.', space=space)


def _appeal_unmuted(_v: Mapping[str, Any], space: str) -> str:
    return _('Your appeal in "%(space)s" succeeded: you can write there again.', space=space)


def _appeal_not_back(_v: Mapping[str, Any], space: str) -> str:
    return _(
        'Your appeal in "%(space)s" succeeded, but what was deleted cannot come back. '
        "You can post it again if you like.",
        space=space,
    )


NOTICES: dict[str, Callable[[Mapping[str, Any], str], str]] = {
    "flag_hidden": _flag_hidden,  # members' flags hid it
    "hidden": _hidden,  # a moderator hid it
    "deleted": _deleted,  # a moderator deleted it
    "redacted": _redacted,  # a moderator took personal information out
    "muted": _muted,  # a moderator muted the author in the space
    "removed": _removed,  # a moderator removed the author from the space
    "held": _held,  # a watched word holds it for a moderator
    "appeal_refused": _appeal_refused,  # appeal decided: the decision stays
    "appeal_undone": _appeal_undone,  # appeal accepted
    "appeal_shown": _appeal_shown,  # appeal accepted: the hidden item shows again
    "appeal_unmuted": _appeal_unmuted,  # appeal accepted: the mute is lifted
    "appeal_not_back": _appeal_not_back,  # appeal accepted, but deleted text cannot return
}


# --- Notes of system flags (the review queue) -------------------------------------------
#
# A watched word's flag stores the word alone; ``Flag.note_code`` says which sentence.

FLAG_NOTES: dict[str, Callable[[str], str]] = {
    "watch_hold": lambda word: _('Held for approval: watched word "%(word)s"', word=word),
    "watch_flag": lambda word: _('Watched word "%(word)s"', word=word),
}


def flag_note(code: str | None, note: str) -> str:
    """A flag's note as the queue shows it: a member's words as typed, a system flag's
    word in its sentence."""
    words = FLAG_NOTES.get(code) if isinstance(code, str) else None
    return note if words is None else words(note)


def dump(values: Mapping[str, Any]) -> str:
    """The stored form of a notice's values (JSON text, sealed with the notice)."""
    return json.dumps(dict(values), ensure_ascii=False, separators=(",", ":"))


def load(stored: str | None) -> dict[str, Any]:
    """The values back; {} for anything that is not a JSON object (never raises)."""
    if not stored:
        return {}
    try:
        values = json.loads(stored)
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


def space_id(values: Mapping[str, Any]) -> int | None:
    """The space's id, if it is one a row can have (a stray value is no id at all)."""
    found = _number(values, "space")
    return found if found is not None and 0 < found <= access.MAX_ID else None


def notice(code: str | None, values: Mapping[str, Any], space_name: str | None) -> str | None:
    """The notice's sentence in the reader's language; None for an unknown code."""
    words = NOTICES.get(code) if isinstance(code, str) else None
    if words is None:
        return None
    return words(values, space_name if space_name is not None else _("a space that is gone"))
