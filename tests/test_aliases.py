"""Alias rules (forum/aliases.py): what is accepted, what is refused, which names collide."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import sys
import time
import unicodedata
from importlib import metadata
from importlib import resources
from pathlib import Path

import pytest

from forum import aliases
from forum.aliases import alias_skeleton
from forum.aliases import normalise_alias
from forum.errors import Invalid

DATA = Path(aliases.__file__).parent / "data"

# ---------------------------------------------------------------------------------------
# normalise_alias: accepted
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "anna",
        "Anna_K",
        "night.owl-22",
        "a1b",
        "123",
        "x" * 32,
        "Мария",  # Cyrillic
        "Ὀδυσσεύς",  # Greek
        "สมชาย",  # Thai (letters and vowel marks)
        "مريم",  # Arabic
        "शालिनी",  # Devanagari, vowel signs after letters
        "प्रियंका",  # Devanagari, virama and anusvara
        "山田太郎",  # Han
        "メアリー",  # Katakana with the prolonged sound mark
        "김민지",  # Hangul
        "Yuki山田",  # Latin + Han: a Japanese mix TR39 allows
        "Minji김",  # Latin + Hangul
        "Zoë",
        "José",
        "Мария1990",  # one script plus digits
        "مريم٢٠٢٤",  # Arabic letters with Arabic-Indic digits
    ],
)
def test_accepts_names_in_any_one_script(raw: str) -> None:
    assert normalise_alias(raw) == unicodedata.normalize("NFKC", raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  anna  ", "anna"),
        ("\tanna\n", "anna"),
        ("\u3000anna\u00a0", "anna"),  # ideographic and no-break spaces around it
        ("ａｎｎａ", "anna"),  # fullwidth letters normalise
        ("Jose\u0301", "José"),  # decomposed accent composes (NFKC)
        ("ﬁx", "fix"),  # a ligature becomes two letters
        ("Ⅻth", "XIIth"),  # a Roman numeral becomes letters
    ],
)
def test_strips_and_normalises(raw: str, expected: str) -> None:
    assert normalise_alias(raw) == expected


# ---------------------------------------------------------------------------------------
# normalise_alias: refused
# ---------------------------------------------------------------------------------------


def refused(raw: object, *, noun: str = "alias") -> str:
    """The message normalise_alias raises for ``raw`` (fails the test if it accepts)."""
    with pytest.raises(Invalid) as caught:
        normalise_alias(raw, noun=noun)
    message = caught.value.message
    assert message and "\n" not in message
    return message


@pytest.mark.parametrize(
    "raw", [None, 42, 3.5, True, ["anna"], {"alias": "anna"}, b"anna", bytearray(b"anna")]
)
def test_refuses_anything_but_text(raw: object) -> None:
    assert "type a name" in refused(raw)


INVISIBLES = {
    "zero-width joiner": "\u200d",
    "zero-width non-joiner": "\u200c",
    "zero-width space": "\u200b",
    "byte-order mark": "\ufeff",
    "left-to-right mark": "\u200e",
    "right-to-left mark": "\u200f",
    "arabic letter mark": "\u061c",
    "right-to-left override": "\u202e",
    "left-to-right embedding": "\u202a",
    "pop directional formatting": "\u202c",
    "left-to-right isolate": "\u2066",
    "right-to-left isolate": "\u2067",
    "first strong isolate": "\u2068",
    "pop directional isolate": "\u2069",
    "word joiner": "\u2060",
    "soft hyphen": "\u00ad",
    "hangul filler": "\u3164",
    "halfwidth hangul filler": "\uffa0",
    "variation selector": "\ufe0f",
    "combining grapheme joiner": "\u034f",
    "mongolian vowel separator": "\u180e",
    "tag character": "\U000e0041",
}


@pytest.mark.parametrize("char", INVISIBLES.values(), ids=INVISIBLES.keys())
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_refuses_invisible_characters(char: str, where: str) -> None:
    raw = {"start": char + "anna", "middle": "an" + char + "na", "end": "anna" + char}[where]
    assert "invisible" in refused(raw)


def test_refuses_a_right_to_left_override_spoof() -> None:
    # "moc.anna" displayed through an override reads like something else entirely.
    assert "invisible" in refused("anna\u202emoc")


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\n", "\r", "\t", "\x0b"])
def test_refuses_control_characters_inside(char: str) -> None:
    assert "control" in refused("an" + char + "na")


@pytest.mark.parametrize("char", [" ", "\u00a0", "\u2003", "\u3000", "\u2028", "\u2029"])
def test_refuses_spaces_inside(char: str) -> None:
    assert "spaces" in refused("anna" + char + "kim")


@pytest.mark.parametrize(
    "raw", ["anna😀", "😀😀😀", "👩\u200d💻anna", "anna♥", "a+b", "a$b", "anna★x", "a©b"]
)
def test_refuses_emoji_and_symbols(raw: str) -> None:
    assert "emoji or symbols" in refused(raw)


@pytest.mark.parametrize(
    "raw", ["an@na", "anna!", "an/na", "an'na", "anna,k", "a:b:c", "a(b)c", "an·na"]
)
def test_refuses_other_punctuation(raw: str) -> None:
    assert "letters, numbers" in refused(raw)


@pytest.mark.parametrize("raw", ["\ud800anna", "anna\ue000", "anna\U0010fffe"])
def test_refuses_surrogates_private_use_and_unassigned(raw: str) -> None:
    assert "can't show" in refused(raw)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "choose a name"),
        ("   ", "choose a name"),
        ("ab", "at least 3"),
        ("ａｂ", "at least 3"),  # fullwidth: two letters after NFKC
        ("x" * 33, "at most 32"),
        ("ａ" * 33, "at most 32"),  # counted after NFKC
        ("ﬀ" * 17, "at most 32"),  # 17 typed, 34 after NFKC
    ],
)
def test_refuses_wrong_lengths(raw: str, fragment: str) -> None:
    assert fragment in refused(raw)


def test_length_is_counted_after_nfkc() -> None:
    assert normalise_alias("ﬀ" * 16) == "ff" * 16  # 16 typed, exactly 32 after NFKC
    assert normalise_alias("ａ" * 32) == "a" * 32


def test_refuses_a_huge_string_quickly() -> None:
    start = time.perf_counter()
    assert "at most 32" in refused("a" * 1_000_000)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (".anna", "start with a letter"),
        ("_anna", "start with a letter"),
        ("-anna", "start with a letter"),
        ("anna.", "can't end"),
        ("anna_", "can't end"),
        ("an..na", "in a row"),
        ("an._na", "in a row"),
        ("\u0301anna", "start with an accent"),
        ("\u093fab", "start with an accent"),  # a Devanagari vowel sign first
        ("ab1\u0301", "follow a letter"),  # an accent on a digit
        ("a_\u0301b", "follow a letter"),  # an accent on a separator
        ("a" + "\u0301" * 6 + "b", "too many accents"),  # "Zalgo" text
        ("an\u0640na", "stretching stroke"),  # Arabic tatweel
        ("anna١٢3", "one number system"),  # Arabic-Indic digits mixed with ASCII ones
    ],
)
def test_refuses_badly_shaped_aliases(raw: str, fragment: str) -> None:
    assert fragment in refused(raw)


def test_allows_a_few_stacked_marks() -> None:
    # Real scripts stack marks (Devanagari "हूँ": a vowel sign plus a candrabindu).
    assert normalise_alias("हूँहूँ") == "हूँहूँ"
    stacked = "a" + "\u0301\u0302\u0303\u0304\u0306" + "b"  # one composes into "á", four stay
    assert normalise_alias(stacked) == unicodedata.normalize("NFKC", stacked)


def test_an_all_latin_lookalike_passes_here_and_collides_by_skeleton() -> None:
    # "paypaI" (capital I) is one script, so normalise_alias accepts it; the unique
    # skeleton is what stops it from sitting next to "paypal".
    assert normalise_alias("paypaI") == "paypaI"
    assert alias_skeleton("paypaI") == alias_skeleton("paypal")


@pytest.mark.parametrize(
    "raw",
    [
        "раураl",  # Cyrillic р а у р а + Latin l
        "Annа",  # Latin with a Cyrillic а at the end
        "Mаria",  # Latin with a Cyrillic а inside
        "Αnna",  # Greek capital alpha + Latin
        "Марияmaria",
        "مريمmaryam",  # Arabic + Latin
        "山田Мария",  # Han + Cyrillic
    ],
)
def test_refuses_mixed_scripts(raw: str) -> None:
    assert "one alphabet" in refused(raw)


RESERVED_DISGUISES = [
    "admin",
    "ADMIN",
    "Admin",
    "Adm1n",  # digit one for i
    "AdmIn",  # capital I for i
    "Аdmin",  # Cyrillic А
    "ädmin",  # an accent
    "ａｄｍｉｎ",  # fullwidth
    "a.d.m.i.n",  # separators
    "a-d_m.i-n",
    "adrnin",  # rn for m
    "Mod",
    "MOD",
    "m0d",
    "rnod",
    "Мод",  # all Cyrillic
    "мод",
    "modlog",
    "ѕуѕтем",  # "system" in Cyrillic lookalikes
    "һеӀр",  # "help" in Cyrillic lookalikes
    "Administrator",
    "M0derat0r",
    "Moderator",
    "Staff",
    "Ѕtaff",  # Cyrillic Ѕ
    "support",
    "RedBrolly",
    "Red-Brolly",
    "red_brolly",
    "R3d-Br0lly",
    "TheRedBrollyTeam",  # the brand anywhere
    "redbrolly_help",
    "mod.anna",  # a staff word as one part
    "anna-mod",
    "Official_Kim",
    "admin_kim",
    "staff.team",
    "root",
    "owner",
    "0wner",
    "police",
    "p0lice",
    "deleted",
    "anonymous",
    "nobody",
    "null",
    "NULL",
    "undefined",
    "everyone",
    "here",
    "админ",
    "Модератор",
]


@pytest.mark.parametrize("raw", RESERVED_DISGUISES)
def test_refuses_reserved_names_in_disguise(raw: str) -> None:
    assert "reserved" in refused(raw)


@pytest.mark.parametrize("name", sorted(aliases.RESERVED_NAMES))
def test_every_reserved_name_is_refused(name: str) -> None:
    assert "reserved" in refused(name)


@pytest.mark.parametrize(
    "raw",
    [
        "badminton",
        "model",
        "modest",
        "commodore",
        "helper",
        "helpful_hannah",
        "rooted",
        "systematic",
        "staffie",
        "admiral",
        "heres_anna",
        "nullah",
        "everyone_else",
    ],
)
def test_words_that_only_contain_a_reserved_name_are_fine(raw: str) -> None:
    assert normalise_alias(raw) == raw


def test_messages_speak_of_a_name_whatever_the_noun() -> None:
    # An English noun spliced into a sentence cannot be translated (gender and case
    # differ by language), so every message says "name", for an alias or a display name.
    assert (
        refused("ab", noun="display name")
        == refused("ab")
        == ("Your name needs at least 3 characters.")
    )
    assert "type a name" in refused(None, noun="display name")


# ---------------------------------------------------------------------------------------
# alias_skeleton
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mod", "Мод"),  # Latin / Cyrillic
        ("Mod", "мод"),
        ("MOD", "МОД"),
        ("paypal", "раураl"),
        ("PAYPAL", "РАУРАL"),
        ("rn", "m"),
        ("modern", "rnodern"),
        ("l", "1"),
        ("1", "I"),
        ("l", "I"),
        ("i", "l"),  # forced: "I" looks like "l", and case never matters
        ("O", "0"),
        ("o", "0"),
        ("vv", "w"),
        ("VV", "W"),
        ("cl", "d"),
        ("a.b", "a_b"),
        ("a_b", "a-b"),
        ("a-b", "ab"),
        ("ADMIN", "admin"),
        ("anna", "ＡＮＮＡ"),
        ("anna", "аnnа"),  # Cyrillic а
        ("ANNA", "ΑΝΝΑ"),  # Greek capitals
        ("José", "Jose"),
        ("Zoë", "zoe"),
        ("straße", "STRASSE"),
        ("hello", "he11o"),
        ("hello", "HELLO"),
        ("anna", "an\u200bna"),  # invisibles never count
        ("Мария", "МАРИЯ"),
    ],
)
def test_lookalikes_share_a_skeleton(a: str, b: str) -> None:
    assert alias_skeleton(a) == alias_skeleton(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("anna", "anne"),
        ("bob", "bab"),
        ("mod", "mud"),
        ("Мария", "Марина"),
        ("สมชาย", "สมศรี"),
        ("प्रियंका", "प्रियका"),  # the anusvara is kept
        ("山田", "川田"),
        ("김민지", "김민주"),
        ("anna1", "anna2"),
    ],
)
def test_different_names_keep_different_skeletons(a: str, b: str) -> None:
    assert alias_skeleton(a) != alias_skeleton(b)


# Pinned values: these are stored in a unique column. If one changes, existing rows
# need a data migration (see forum/aliases.py) before the change can ship.
@pytest.mark.parametrize(
    ("alias", "skeleton"),
    [
        ("Admin", "aclrnln"),
        ("Мод", "rnocl"),
        ("paypal", "paypal"),
        ("Anna_K", "annak"),
        ("night.owl-22", "nlghtovvl22"),
        ("Мария", "rnapᴎя"),
        ("山田太郎", "山田太郎"),
    ],
)
def test_skeletons_are_stable(alias: str, skeleton: str) -> None:
    assert alias_skeleton(alias) == skeleton
    assert alias_skeleton(alias) == alias_skeleton(alias)


PINNED_TABLE_DIGEST = "3e6f5c751381a06cb7501453b40d47d91dbed94ddf29541dd7c33ee3e8d34b9f"


def test_confusables_table_is_pinned() -> None:
    # Editing forum/data/confusables.txt changes stored keys: update this digest only
    # together with a data migration that recomputes Account.alias_key.
    digest = hashlib.sha256((DATA / "confusables.txt").read_bytes()).hexdigest()
    assert digest == PINNED_TABLE_DIGEST


def test_skeleton_ignores_case() -> None:
    for text in ["Мария", "Ὀδυσσεύς", "STRASSE", "İstanbul", "ǅemal", "Anna_K", "ΣΊΣΥΦΟΣ"]:
        assert alias_skeleton(text) == alias_skeleton(text.casefold())
        assert alias_skeleton(text) == alias_skeleton(text.lower())


def test_skeleton_of_a_valid_alias_fits_its_column() -> None:
    # A Hangul syllable can become seven code points; the column holds 128.
    longest = "쮔" * (aliases.SKELETON_MAX_LENGTH // 7)
    assert len(alias_skeleton(normalise_alias(longest))) <= aliases.SKELETON_MAX_LENGTH
    assert "at most 32" in refused(longest + "쮔")


def test_table_values_are_final() -> None:
    table = aliases._confusables()
    assert len(table) > 5000
    for source, target in table.items():
        assert len(source) == 1
        assert aliases._map_confusables(target) == target, source  # one lookup is enough


def test_shipped_table_matches_its_build_script() -> None:
    shipped = resources.files("forum").joinpath("data/confusables.txt").read_text("utf-8")
    header = " ".join(line for line in shipped.splitlines() if line.startswith("#"))
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    here = (
        f"confusable-homoglyphs {metadata.version('confusable-homoglyphs')}",
        f"Python {python}, Unicode {unicodedata.unidata_version};",
    )
    if not all(fact in header for fact in here):
        pytest.skip("the table was built with another package or Python version")
    spec = importlib.util.spec_from_file_location(
        "build_confusables", DATA / "build_confusables.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main()
    assert out.getvalue() == shipped
