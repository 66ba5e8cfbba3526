"""Checks for free text that members type (titles, bodies, names, answers).

One rule set, so every form refuses the same things with the same plain words:
a value must be a str, within its limit, and free of control characters (line
breaks only where the field is multi-line) and of bidirectional overrides, which
can make text read differently from what is stored.
"""

from __future__ import annotations

import re

from forum.errors import Invalid

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[\r\n\t\u2028\u2029]")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def clean(value: object, field: str, limit: int, *, required: bool = True, multiline: bool = False) -> str:
    """``value`` stripped, or raise :class:`Invalid` saying what is wrong with ``field``."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"Please type the {field} as text.")
    if len(value) > limit * 2 + 100:  # refuse a huge value before any work on it
        raise Invalid(f"The {field} is too long: at most {limit:,} characters.")
    text = value.replace("\r\n", "\n").strip()
    if required and not text:
        raise Invalid(f"Please fill in the {field}.")
    if len(text) > limit:
        raise Invalid(f"The {field} is too long: at most {limit:,} characters.")
    if _CONTROL.search(text) or _BIDI.search(text):
        raise Invalid(f"The {field} contains a hidden control character. Please remove it.")
    if not multiline and _LINE_BREAKS.search(text):
        raise Invalid(f"The {field} must be on one line.")
    return text


def whole_number(value: object, field: str, low: int, high: int, *, default: int | None = None) -> int | None:
    """An integer in ``low..high`` from a form value; blank means ``default``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        raise Invalid(f"The {field} must be a whole number.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and len(value) <= 12 and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    else:
        raise Invalid(f"The {field} must be a whole number.")
    if not low <= number <= high:
        raise Invalid(f"The {field} must be between {low} and {high}.")
    return number
