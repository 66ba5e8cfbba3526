"""Alias rules: what a name may look like, and the key that keeps look-alikes apart.

Pure functions (no database, no Flask), used for account aliases and for per-space
display names alike:

- :func:`normalise_alias` turns raw input into the text we store and show, or raises
  :class:`~forum.errors.Invalid` with a plain message.
- :func:`alias_skeleton` turns a name into its uniqueness key: two names that a reader
  could mistake for each other get the same key.

**The skeleton is stored** (``Account.alias_key``, a unique column). Changing anything
that affects it (this module's folding rules, ``forum/data/confusables.txt``, or the
Python version's Unicode tables, which NFKC and casefold use) changes keys of existing
rows, so it needs a data migration that recomputes every stored key and resolves any
new collisions. That is why the confusables table is a frozen file in this repository
rather than read from an installed package at run time.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from importlib import resources

from confusable_homoglyphs import categories

from forum import text as text_rules
from forum.errors import Invalid

MIN_LENGTH = 3
MAX_LENGTH = 32  # counted after NFKC, in code points
# Raw input longer than this is refused before NFKC, so a huge string costs nothing.
# Generous: NFKC can shrink text (decomposed Hangul jamo: three code points to one).
RAW_LIMIT = 8 * MAX_LENGTH
SEPARATORS = frozenset("._-")
# The skeleton can be longer than the alias (a Hangul syllable becomes up to seven
# code points); it must fit the unique column that stores it (Account.alias_key).
SKELETON_MAX_LENGTH = 128
# Real scripts stack at most a few marks on a letter (Devanagari, Thai, Tibetan);
# more than this is "Zalgo" text that spills over neighbouring lines.
MAX_MARKS_PER_LETTER = 4

# Exact matches (by skeleton) are refused. Staff and system words, names the site
# itself uses, words that read as an @-mention of everybody, values that look like
# missing data, and a few translations of the staff words that matter most.
RESERVED_NAMES = frozenset(
    """
    admin administrator moderator mod mods staff system support redbrolly red-brolly brolly
    root owner official help security police cops deleted removed banned suspended anonymous
    nobody someone unknown guest ghost null undefined none nil true false everyone here all
    channel sysop superuser webmaster postmaster hostmaster abuse noreply no-reply team bot
    modlog api static login logout register signup settings invite report safety
    trust-and-safety
    админ администратор модератор модер поддержка полиция
    moderador moderadora administrador administradora soporte suporte policia polizei politie
    """.split()
)
# A separator-delimited part of an alias that matches one of these is refused too,
# so "mod.anna" and "Official_Kim" cannot pose as staff. (Only whole parts: "model"
# and "badminton" stay free.)
STAFF_WORDS = frozenset(
    """
    admin administrator moderator mod mods staff official sysop redbrolly brolly
    админ модератор moderador moderadora
    """.split()
)
# Refused anywhere inside the skeleton, with or without separators ("TheRedBrollyTeam").
BRAND_WORDS = ("redbrolly",)

# Mixed scripts in one alias are refused (the homograph trick: Latin "paypal" with
# Cyrillic "а"), except the combinations that real writing uses, following Unicode
# TR39's "highly restrictive" level: Japanese, Chinese with Bopomofo, Korean, each
# with Latin. Digits and ". _ -" belong to no script and go with any.
ALLOWED_SCRIPT_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_NO_SCRIPT = frozenset({"COMMON", "INHERITED"})

# Invisible code points that are not category Cf, from Unicode's
# Default_Ignorable_Code_Point list: Hangul fillers (blank "letters"), variation
# selectors and similar marks, which would otherwise pass as letters or marks.
_INVISIBLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)
_TATWEEL = "\u0640"  # Arabic stretching stroke: a letter to Unicode, decoration to readers

# Marks that readers barely notice, dropped from the skeleton so "José"/"Jose" and
# "ädmin"/"admin" collide: the generic combining diacritics used by Latin, Greek and
# Cyrillic, Arabic harakat and Hebrew points. Marks of other scripts (Devanagari vowel
# signs, Thai tone marks) change the word and are kept.
_FAINT_MARK_RANGES = (
    (0x0300, 0x036F),
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),
    (0x0591, 0x05C7),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
)
_SEPARATOR_RUN = re.compile(r"[._-]+")


def normalise_alias(raw: object, *, noun: str = "alias") -> str:
    """Return ``raw`` as a clean alias (stripped, NFKC), or raise :class:`Invalid`.

    ``noun`` names the thing in messages ("alias", "display name").
    """
    if not isinstance(raw, str):
        raise Invalid(f"Please type {_a(noun)}.")
    text = raw.strip()
    if len(text) > RAW_LIMIT:
        raise _too_long(noun)
    text = unicodedata.normalize("NFKC", text)
    _check_characters(text, noun)
    _check_length(text, noun)
    _check_shape(text, noun)
    _check_reserved(text, noun)
    _check_scripts(text, noun)
    if len(alias_skeleton(text)) > SKELETON_MAX_LENGTH:
        raise _too_long(noun)
    return text


def alias_skeleton(alias: str) -> str:
    """Return the uniqueness key of ``alias``: names that look alike share a key.

    ``Mod``/``Мод``, ``rn``/``m``, ``l``/``1``/``I``, ``0``/``O``, ``vv``/``w``,
    ``cl``/``d``, ``José``/``Jose`` and ``a.b``/``a_b``/``a-b``/``ab`` each share one.
    Deterministic; not for display. The steps, in a fixed order (the result is stored,
    see the module docstring):

    1. NFKC and casefold (so case never matters), NFD, and drop separators,
       invisible code points and faint marks (see :func:`_is_ignorable`).
    2. Uppercase and map through the TR39 table: capitals that look alike
       (Cyrillic "М", Latin "M") meet here, which casefolded text alone would miss.
    3. Casefold and map again: small letters that look alike ("rn", "m") meet here.
    4. Casefold once more (some prototypes are capitals: "0" -> "O").

    Nothing is dropped after step 1: marks the table brings in stand for something
    visible (Devanagari's anusvara maps to a dot above), and a prototype may be a
    separator (TR39 maps the Arabic-Indic zero to ".").
    """
    text = _nfd(unicodedata.normalize("NFKC", alias).casefold())
    text = "".join(ch for ch in text if not _is_ignorable(ch))
    text = _map_confusables(_nfd(text.upper()))
    text = _map_confusables(_nfd(text.casefold()))
    return _nfd(text.casefold())


def _is_ignorable(ch: str) -> bool:
    """True for code points the skeleton drops: separators, invisibles, faint marks."""
    cp = ord(ch)
    return (
        ch in SEPARATORS
        or ch == _TATWEEL
        or unicodedata.category(ch) == "Cf"
        or _in_ranges(cp, _INVISIBLE_RANGES)
        or _in_ranges(cp, _FAINT_MARK_RANGES)
    )


# --- the checks, in the order normalise_alias runs them ------------------------------


def _check_characters(text: str, noun: str) -> None:
    """Refuse control, invisible, symbol and space characters, each with its own message.

    Control characters, NUL, lone surrogates and text-direction tricks are the one rule
    of ``forum/text.py`` (``hidden_kind``), said here in an alias's words; the rest (one
    line, no tab, no private-use or unassigned code point, no symbol, no invisible
    character, no space) are what an alias adds.
    """
    kind = text_rules.hidden_kind(text, multiline=True)
    if kind == text_rules.SURROGATE:
        raise Invalid(
            f"Your {noun} contains a character we can't show. Please use letters and numbers."
        )
    if kind == text_rules.BIDI:
        raise _invisible(noun)
    if kind is not None or any(ch in "\t\n\r" for ch in text):
        raise Invalid(f"Your {noun} can't contain line breaks, tabs or other control characters.")
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Co", "Cn"):
            raise Invalid(
                f"Your {noun} contains a character we can't show. Please use letters and numbers."
            )
        if category[0] == "S":
            raise Invalid(
                f"Your {noun} can't contain emoji or symbols. Please use letters and numbers."
            )
    for ch in text:
        if unicodedata.category(ch) == "Cf" or _in_ranges(ord(ch), _INVISIBLE_RANGES):
            raise _invisible(noun)
    if text and unicodedata.category(text[0])[0] == "M":
        raise Invalid(f"Your {noun} can't start with an accent or other combining mark.")
    if any(ch.isspace() for ch in text):
        raise Invalid(f"Your {noun} can't contain spaces. You can use . _ or - instead.")


def _check_length(text: str, noun: str) -> None:
    if not text:
        raise Invalid(f"Please choose {_a(noun)}.")
    if len(text) < MIN_LENGTH:
        raise Invalid(f"Your {noun} needs at least {MIN_LENGTH} characters.")
    if len(text) > MAX_LENGTH:
        raise _too_long(noun)


def _check_shape(text: str, noun: str) -> None:
    """Letters, digits, marks on letters, and single separators between them."""
    if not _is_letter_or_digit(text[0]):
        raise Invalid(f"Your {noun} must start with a letter or a number.")
    if text[-1] in SEPARATORS:
        raise Invalid(f"Your {noun} can't end with . _ or -.")
    marks = 0
    previous = ""
    for ch in text:
        category = unicodedata.category(ch)
        if ch == _TATWEEL:
            raise Invalid(f"Please leave the stretching stroke (ـ) out of your {noun}.")
        if category in ("Mn", "Mc"):
            marks += 1
            if not previous or not unicodedata.category(previous).startswith(("L", "M")):
                raise Invalid(f"In your {noun}, accents and vowel signs must follow a letter.")
            if marks > MAX_MARKS_PER_LETTER:
                raise Invalid(f"Your {noun} has too many accents on one letter.")
        elif ch in SEPARATORS:
            if previous in SEPARATORS:
                raise Invalid(f"Your {noun} can't have two of . _ - in a row.")
        elif not _is_letter_or_digit(ch):
            raise Invalid(f"Your {noun} can only use letters, numbers, and . _ -")
        if category not in ("Mn", "Mc"):
            marks = 0
        previous = ch
    # Digits of two systems ("1" and the Arabic-Indic "١") are another homograph trick.
    zeros = {ord(ch) - unicodedata.decimal(ch) for ch in text if unicodedata.category(ch) == "Nd"}
    if len(zeros) > 1:
        raise Invalid(f"Please use digits from one number system in your {noun}.")


def _check_reserved(text: str, noun: str) -> None:
    """Refuse reserved names and staff words, compared by skeleton so disguises fail too."""
    skeleton = alias_skeleton(text)
    reserved, staff, brands = _reserved_skeletons()
    parts = {alias_skeleton(part) for part in _SEPARATOR_RUN.split(text)}
    if skeleton in reserved or parts & staff or any(brand in skeleton for brand in brands):
        raise Invalid(
            f"That {noun} is reserved, or looks too much like a reserved name. "
            "Please choose another."
        )


def _check_scripts(text: str, noun: str) -> None:
    """Refuse letters from several writing systems, except Japanese/Chinese/Korean mixes."""
    scripts = {categories.alias(ch) for ch in text} - _NO_SCRIPT
    if len(scripts) > 1 and not any(scripts <= mix for mix in ALLOWED_SCRIPT_MIXES):
        raise Invalid(
            f"Please write your {noun} in one alphabet or writing system "
            "(for example all Latin or all Cyrillic letters), not a mix."
        )


# --- helpers --------------------------------------------------------------------------


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _invisible(noun: str) -> Invalid:
    return Invalid(
        f"Your {noun} contains an invisible character (such as a zero-width space "
        "or a text-direction mark). Please type it again without it."
    )


def _too_long(noun: str) -> Invalid:
    return Invalid(f"Your {noun} can be at most {MAX_LENGTH} characters long.")


def _is_letter_or_digit(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LN"


def _in_ranges(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= cp <= high for low, high in ranges)


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def _map_confusables(text: str) -> str:
    """Replace each code point by its TR39 prototype (the table's values are final)."""
    table = _confusables()
    return "".join(table.get(ch, ch) for ch in text)


@functools.cache
def _reserved_skeletons() -> tuple[frozenset[str], frozenset[str], tuple[str, ...]]:
    """Skeletons of the reserved lists, computed once (they depend on the table)."""
    return (
        frozenset(alias_skeleton(name) for name in RESERVED_NAMES),
        frozenset(alias_skeleton(word) for word in STAFF_WORDS),
        tuple(alias_skeleton(word) for word in BRAND_WORDS),
    )


@functools.cache
def _confusables() -> dict[str, str]:
    """Load ``forum/data/confusables.txt``: lines of ``XXXX ; YYYY YYYY`` (hex code points)."""
    table: dict[str, str] = {}
    text = resources.files("forum").joinpath("data/confusables.txt").read_text("utf-8")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        source, target = (field.strip() for field in line.split(";"))
        table[chr(int(source, 16))] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table
