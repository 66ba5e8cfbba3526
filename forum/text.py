"""The one check for text that people send (titles, bodies, names, answers, chat messages,
moderators' reasons and edits, appeals), and for whole numbers from forms.

Every text field of every form and socket event passes through :func:`clean`, so each
one refuses the same things with the same plain words: a value must be a str, within its
limit, and free of characters that cannot be stored or that hide what the text says:

- control characters (C0 and C1, NUL included), except line breaks and tabs in a
  multi-line field: PostgreSQL cannot store NUL at all, and the rest are invisible;
- lone surrogates (a JSON client may send ``"\\ud800"``; no database can encode it);
- bidirectional embeddings and overrides (U+202A..U+202E), which make text read
  differently from what is stored ("exe.gnp" shown as "png.exe");
- bidirectional isolates (U+2066..U+2069) unless each one opened is closed on the same
  line: right-to-left writers use balanced isolates, and a balanced isolate cannot
  reorder the text around it. The marks U+200E, U+200F and U+061C stay allowed.

A name (``name=True``: a room, a space, an organisation) is one line, its runs of
spaces fold to one, and it may hold no invisible formatting character at all
(zero-width spaces, soft hyphens, marks): two names that look the same must be the same.

The same characters make a URL segment "not found" (``forum/views/converters.py``).
"""

from __future__ import annotations

import re
import unicodedata

from forum.errors import Invalid

# Never allowed anywhere: C0/C1 controls but line breaks and tabs, lone surrogates, bidi
# embeddings and overrides (a regex character class, shared with the URL converters).
NEVER = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e"
_CONTROL = re.compile(f"[{NEVER}]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_OVERRIDE = re.compile("[\u202a-\u202e]")
# What ``drop_hidden`` takes out: everything NEVER allows, and every isolate.
_DROPPED = re.compile(f"[{NEVER}\u2066-\u2069]")
SURROGATE, BIDI, CONTROL, LINE_BREAK = "surrogate", "bidi", "control", "line break"
_LINE_BREAKS = re.compile(r"[\n\t\u2028\u2029]")  # a multi-line field's line breaks and tabs
_SPACES = re.compile(" {2,}")
# ASCII digits only, one optional minus ("٣", "１２", "²" and "--1" are not numbers here).
_WHOLE = re.compile("-?[0-9]{1,11}")
_ISOLATE_OPEN = "\u2066\u2067\u2068"
_ISOLATE_CLOSE = "\u2069"
_PARAGRAPH_ENDS = "\n\u2029"


def _unbalanced_isolates(text: str) -> bool:
    """True if an isolate is closed without being opened, or left open at a line's end."""
    depth = 0
    for char in text:
        if char in _ISOLATE_OPEN:
            depth += 1
        elif char == _ISOLATE_CLOSE:
            depth -= 1
            if depth < 0:
                return True
        elif char in _PARAGRAPH_ENDS:
            if depth:
                return True
    return depth != 0


def hidden_kind(text: str, *, multiline: bool = False) -> str | None:
    """Which kind of character that :func:`clean` refuses ``text`` holds, if any:
    ``SURROGATE``, ``BIDI`` (an embedding, override or unbalanced isolate), ``CONTROL``, or
    ``LINE_BREAK`` (line breaks and tabs, unless ``multiline``); None when it holds none.

    Fields with their own wording (aliases) ask this and say it their way.
    """
    if _SURROGATE.search(text):
        return SURROGATE
    if _OVERRIDE.search(text) or (
        any(c in text for c in _ISOLATE_OPEN + _ISOLATE_CLOSE) and _unbalanced_isolates(text)
    ):
        return BIDI
    if _CONTROL.search(text):
        return CONTROL
    if not multiline and ("\r" in text or _LINE_BREAKS.search(text)):
        return LINE_BREAK
    return None


def hidden_characters(text: str, *, multiline: bool = False) -> bool:
    """Does ``text`` hold a character that :func:`clean` refuses? (Line breaks and tabs
    count too, unless ``multiline``.)"""
    return hidden_kind(text, multiline=multiline) is not None


def clean(
    value: object,
    field: str,
    limit: int,
    *,
    required: bool = True,
    multiline: bool = False,
    name: bool = False,
    drop_hidden: bool = False,
    verbatim: bool = False,
) -> str:
    """``value`` stripped, or raise :class:`Invalid` saying what is wrong with ``field``.

    ``None`` (a field that was not sent) counts as empty where the field is optional,
    and as not text where it is required. ``drop_hidden``: for what is only looked
    for, never stored (a search, an identifier to look up or to hash), the characters
    refused here become spaces instead (a number pasted from a phone often comes wrapped
    in direction marks). ``verbatim``: a secret compared as typed (a passphrase): not
    stripped, line endings kept.
    """
    if value is None and not required:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"The {field} must be text.")
    if len(value) > limit * 2 + 100:  # refuse a huge value before any work on it
        raise Invalid(f"The {field} is too long: at most {limit:,} characters.")
    text = value
    if drop_hidden:
        text = _DROPPED.sub(" ", text)
        if not multiline:
            text = _LINE_BREAKS.sub(" ", text.replace("\r", " "))
    if not verbatim:
        text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if name:
        text = _SPACES.sub(" ", text)
    if required and not text:
        raise Invalid(f"Write something in the {field}, please.")
    if len(text) > limit:
        raise Invalid(f"The {field} is too long: at most {limit:,} characters.")
    if hidden_characters(text, multiline=True):
        raise Invalid(f"The {field} contains hidden control characters. Please remove them.")
    if not multiline and _LINE_BREAKS.search(text):
        raise Invalid(f"The {field} must be on one line.")
    if name and any(unicodedata.category(c) == "Cf" for c in text):
        raise Invalid(f"The {field} contains invisible characters. Please remove them.")
    return text


def whole_number(
    value: object, field: str, low: int, high: int, *, default: int | None = None
) -> int | None:
    """An integer in ``low..high`` from a form value; blank means ``default``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        raise Invalid(f"The {field} must be a whole number.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise Invalid(f"The {field} must be a whole number.")
    if not low <= number <= high:
        raise Invalid(f"The {field} must be between {low} and {high}.")
    return number
