"""Identifiers of aggressors: normalise what a member types, then keep only a keyed hash.

Normalisation makes the many ways of writing one identifier meet:

- phone: parsed by ``phonenumbers`` with the space's default region, kept in E.164,
  so ``+44 7700 900123``, ``07700900123`` and ``7700 900 123`` (region GB) are one;
- handle: case-folded, without ``@`` and punctuation (``@Big.Dave_99`` = ``bigdave99``);
- email: case-folded, spaces removed;
- plate: upper-case letters and digits only (``ab12 cde`` = ``AB12CDE``).

The stored value is ``HMAC-SHA256(key, kind + ":" + normalised)``. The key
(``RB_IDENTIFIER_KEY``) lives in the environment or the instance folder, never
in the database, so a stolen database cannot be searched for a number without
it. Changing the key makes every stored report unfindable (they still expire).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from pathlib import Path

import phonenumbers
from flask import Flask
from flask import current_app

from forum import text
from forum.errors import Invalid

KINDS = ("phone", "handle", "email", "plate")
MAX_RAW = 100  # characters of one typed identifier
_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,63}$")
_REGION = re.compile(r"^[A-Z]{2}$")
KEY_FILE = "identifier_key"


class KeyMissing(RuntimeError):
    """Production without RB_IDENTIFIER_KEY: the message says what to set."""


# --- the key -------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Make sure a key exists: from the environment, else (development) a file in instance/."""
    if app.config.get("RB_IDENTIFIER_KEY"):
        return
    if app.config.get("RB_ENV") == "production":
        raise KeyMissing(
            "RB_IDENTIFIER_KEY is not set. Red Brolly keeps identifiers in bad-date reports only "
            "as keyed hashes, and the key must live outside the database: set RB_IDENTIFIER_KEY to "
            "a long random string, e.g. `python -c 'import secrets; "
            "print(secrets.token_hex(32))'`, and keep it with SECRET_KEY (not in any database "
            "backup)."
        )
    app.config["RB_IDENTIFIER_KEY"] = _dev_key(Path(app.instance_path))


def _dev_key(instance: Path) -> str:
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / KEY_FILE
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def digest(kind: str, normalised: str) -> str:
    key = current_app.config["RB_IDENTIFIER_KEY"].encode()
    return hmac.new(key, f"{kind}:{normalised}".encode(), hashlib.sha256).hexdigest()


# --- normalising -----------------------------------------------------------------------


def clean_region(raw: object) -> str:
    if not isinstance(raw, str) or not _REGION.match(raw.strip().upper()):
        raise Invalid("Please choose a country for phone numbers.")
    region = raw.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise Invalid("Please choose a country for phone numbers.")
    return region


def _raw(value: object) -> str:
    """One typed identifier: the one text check (hidden characters dropped: numbers copied
    from a phone often come wrapped in direction marks), then NFKC."""
    value = text.clean(value, "number, handle, email or plate", MAX_RAW, drop_hidden=True)
    return unicodedata.normalize("NFKC", value).strip()


def phone(value: object, region: str) -> str | None:
    """E.164 form, or None if it cannot be a phone number in ``region``."""
    value = _raw(value)
    if sum(c.isdigit() for c in value) < 6:
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def handle(value: object) -> str | None:
    folded = _NOT_ALNUM.sub("", _raw(value).casefold())
    return folded if 2 <= len(folded) <= 64 else None


def email(value: object) -> str | None:
    folded = "".join(_raw(value).casefold().split())
    return folded if _EMAIL.match(folded) else None


def plate(value: object) -> str | None:
    upper = _NOT_ALNUM.sub("", _raw(value).upper())
    return upper if 2 <= len(upper) <= 12 and upper.isascii() else None


def normalise(kind: str, value: object, region: str) -> str | None:
    if kind == "phone":
        return phone(value, region)
    if kind == "handle":
        return handle(value)
    if kind == "email":
        return email(value)
    if kind == "plate":
        return plate(value)
    raise Invalid("Please choose what kind of detail it is.")


def candidates(value: object, regions: list[str], kind: object = "any") -> set[tuple[str, str]]:
    """Every (kind, digest) that ``value`` could be, for a lookup.

    ``kind`` "any" tries all four: a member need not say what they typed. Phone
    numbers are tried in each region given (the regions of the member's spaces).
    """
    if kind not in ("any", *KINDS):
        raise Invalid("Please choose what kind of detail it is.")
    value = _raw(value)
    kinds = KINDS if kind == "any" else (kind,)
    found: set[tuple[str, str]] = set()
    for each in kinds:
        for region in (regions or ["GB"]) if each == "phone" else [""]:
            normalised = normalise(each, value, region)
            if normalised is not None:
                found.add((each, digest(each, normalised)))
    return found
