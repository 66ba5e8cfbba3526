"""Passphrase policy and argon2id hashing (forum/passwords.py)."""

from __future__ import annotations

import time
import types
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import argon2
import pytest

from forum import passwords
from forum.errors import Invalid

GOOD = "lamp fog ribbon cellar"
FAST = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tiny argon2 costs for speed; the hasher in use before the test comes back after."""
    monkeypatch.setattr(passwords, "_hasher", passwords._hasher)
    passwords.configure(**FAST)
    yield


@pytest.fixture
def no_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any argon2 call fail the test."""

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("argon2 was called")

    for name in ("hash", "verify", "check_needs_rehash"):
        monkeypatch.setattr(argon2.PasswordHasher, name, boom)


def refused(p: object, **kwargs: object) -> str:
    with pytest.raises(Invalid) as caught:
        passwords.check_passphrase(p, **kwargs)  # type: ignore[arg-type]
    return caught.value.message


# ---------------------------------------------------------------------------------------
# check_passphrase
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p", [None, 1234567890123, 3.14, ["a" * 12], b"lamp fog ribbon", {"p": GOOD}]
)
def test_refuses_anything_but_text(p: object) -> None:
    assert "type a passphrase" in refused(p)


def test_returns_an_acceptable_passphrase_unchanged() -> None:
    assert passwords.check_passphrase(GOOD) == GOOD
    assert passwords.check_passphrase("  spaces kept  ") == "  spaces kept  "


@pytest.mark.parametrize(
    ("p", "ok"),
    [
        ("tq9vz!mwp", False),  # 9
        ("tq9vz!mwp4", True),  # 10
        (("lamp fog ribbon " * 70)[:1024], True),
        (("lamp fog ribbon " * 70)[:1025], False),
    ],
)
def test_length_bounds(p: str, ok: bool) -> None:
    if ok:
        assert passwords.check_passphrase(p) == p
    else:
        message = refused(p)
        assert ("at least 10" if len(p) < 10 else "at most 1,024") in message


def test_a_megabyte_is_refused_fast_without_hashing(no_hashing: None) -> None:
    start = time.perf_counter()
    assert "at most 1,024" in refused("x" * 1_000_000 + "y")
    assert time.perf_counter() - start < 0.5
    # verify and hash refuse it before argon2 too.
    assert (
        passwords.verify_passphrase(
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "x" * 1_000_000
        )
        is False
    )
    with pytest.raises(ValueError):
        passwords.hash_passphrase("x" * 1_000_000)


def test_policy_does_not_hash(no_hashing: None) -> None:
    assert passwords.check_passphrase(GOOD) == GOOD
    assert "common" in refused("password123!")


@pytest.mark.parametrize(
    "p",
    [
        "password123!",
        "PASSWORD123!",
        "Password1234",
        "password!!!!",
        "qwertyuiop",
        "QwertyUiop",
        "1234567890",
        "iloveyou!!",
        "iloveyou2024",
        "!!dragon2024",
        "monkey12345!",
        "trustno1!!!",
        "football123",
        "sunshine2020",
        "ｐａｓｓｗｏｒｄ１２３",  # fullwidth: NFKC first
    ],
)
def test_refuses_common_passwords(p: str) -> None:
    assert "most common" in refused(p)


@pytest.mark.parametrize(
    "p", [GOOD, "correct horse battery staple", "Zebra-Kettle-Mosaic-91", "pässwörd öf mïne"]
)
def test_accepts_uncommon_passphrases(p: str) -> None:
    assert passwords.check_passphrase(p) == p
    assert passwords.is_common(p) is False


def test_common_list_is_shipped_with_its_source() -> None:
    path = Path(passwords.__file__).parent / "data" / "common-passwords.txt"
    lines = path.read_text("utf-8").splitlines()
    header = [line for line in lines if line.startswith("#")]
    assert lines[0].startswith("#") and "zxcvbn" in " ".join(header)  # where it came from
    entries = [line for line in lines if not line.startswith("#")]
    assert len(entries) >= 2000
    assert all(entry and entry == entry.strip().lower() for entry in entries)
    assert entries[0] == "password"


@pytest.mark.parametrize(
    ("p", "alias"),
    [
        ("anna.k.anna.k", "anna.k"),
        ("my name is anna.k ok", "anna.k"),
        ("MY NAME IS ANNA.K OK", "anna.k"),
        ("my name is anna.k ok", "Anna.K"),
        ("nightowl22!", "nightowl22"),
        ("ｎｉｇｈｔｏｗｌ２２!", "nightowl22"),  # fullwidth
        ("Мария-Мария-Мария", "мария"),
    ],
)
def test_refuses_the_alias_inside(p: str, alias: str) -> None:
    assert "alias" in refused(p, alias=alias)


def test_alias_not_inside_is_fine() -> None:
    assert passwords.check_passphrase(GOOD, alias="anna.k") == GOOD
    assert passwords.check_passphrase(GOOD, alias=None) == GOOD
    assert passwords.check_passphrase(GOOD, alias="") == GOOD


@pytest.mark.parametrize(
    "p",
    [
        "aaaaaaaaaa",
        "AaAaAaAaAa",
        " " * 12,
        "\u3000" * 10,
        "ababababab",
        "abcabcabcabc",
        "xyzwxyzwxyzw",
        "🙂" * 10,
    ],
)
def test_refuses_one_character_or_short_pattern_repeated(p: str) -> None:
    assert "pattern repeated" in refused(p)


def test_refuses_text_that_cannot_be_stored() -> None:
    assert "can't store" in refused("lamp fog \ud800 ribbon")


# ---------------------------------------------------------------------------------------
# hashing
# ---------------------------------------------------------------------------------------


def test_hash_verify_cycle() -> None:
    stored = passwords.hash_passphrase(GOOD)
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert GOOD not in stored
    assert passwords.verify_passphrase(stored, GOOD) is True
    assert passwords.verify_passphrase(stored, GOOD + " ") is False
    assert passwords.verify_passphrase(stored, GOOD.upper()) is False
    assert passwords.needs_rehash(stored) is False


def test_each_hash_has_its_own_salt() -> None:
    assert passwords.hash_passphrase(GOOD) != passwords.hash_passphrase(GOOD)


def test_verify_matches_across_unicode_forms() -> None:
    composed = "café au lait olé"
    stored = passwords.hash_passphrase(composed)
    assert passwords.verify_passphrase(stored, unicodedata.normalize("NFD", composed)) is True
    assert (
        passwords.verify_passphrase(passwords.hash_passphrase("ﬁsh and chips"), "fish and chips")
        is True
    )


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "nonsense",
        "$argon2id$v=19$m=8,t=1,p=1$",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",  # well-formed, wrong
        "$2b$12$abcdefghijklmnopqrstuu5bIXzwX0Y9U3Lq7K4pZ6aZ5cOq2xh5C",  # bcrypt
        None,
        12,
    ],
)
def test_verify_never_raises_on_bad_hashes(stored: object) -> None:
    assert passwords.verify_passphrase(stored, GOOD) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("p", [None, 12, b"lamp fog ribbon cellar", "lamp \ud800 fog"])
def test_verify_never_raises_on_bad_input(p: object) -> None:
    stored = passwords.hash_passphrase(GOOD)
    assert passwords.verify_passphrase(stored, p) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("stored", ["", "nonsense", "$argon2id$v=19$m=8,t=1,p=1$"])
def test_unreadable_hashes_need_rehash(stored: str) -> None:
    assert passwords.needs_rehash(stored) is True


def test_new_costs_make_old_hashes_need_rehash() -> None:
    old = passwords.hash_passphrase(GOOD)
    passwords.configure(time_cost=2, memory_cost=16, parallelism=1)
    assert passwords.needs_rehash(old) is True
    assert passwords.verify_passphrase(old, GOOD) is True  # old hashes still verify
    new = passwords.hash_passphrase(GOOD)
    assert "$m=16,t=2,p=1$" in new
    assert passwords.needs_rehash(new) is False
    passwords.configure(**FAST)
    assert passwords.needs_rehash(old) is False
    assert passwords.needs_rehash(new) is True


def test_defaults_are_written_down_and_used() -> None:
    assert (passwords.TIME_COST, passwords.MEMORY_COST, passwords.PARALLELISM) == (3, 64 * 1024, 1)
    passwords.configure()  # no arguments: back to the defaults
    stored = passwords.hash_passphrase(GOOD)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=1$")
    assert passwords.verify_passphrase(stored, GOOD) is True


@pytest.mark.parametrize(
    "kwargs",
    [
        {"time_cost": 0},
        {"memory_cost": -1},
        {"parallelism": 0},
        {"time_cost": True},
        {"time_cost": 1.5},
        {"memory_cost": "64"},
        {"memory_cost": 8, "parallelism": 2},  # argon2 needs 8 KiB per lane
    ],
)
def test_configure_refuses_bad_costs(kwargs: dict[str, object]) -> None:
    before = passwords._hasher
    with pytest.raises(ValueError):
        passwords.configure(**kwargs)  # type: ignore[arg-type]
    assert passwords._hasher is before


def test_init_app_reads_the_config_keys() -> None:
    app = types.SimpleNamespace(
        config={"ARGON2_TIME_COST": 2, "ARGON2_MEMORY_COST": "32", "ARGON2_PARALLELISM": 2}
    )
    passwords.init_app(app)  # type: ignore[arg-type]
    assert passwords.hash_passphrase(GOOD).startswith("$argon2id$v=19$m=32,t=2,p=2$")


def test_init_app_defaults_to_the_constants() -> None:
    passwords.init_app(types.SimpleNamespace(config={}))  # type: ignore[arg-type]
    hasher = passwords._hasher
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
        passwords.TIME_COST,
        passwords.MEMORY_COST,
        passwords.PARALLELISM,
    )


def test_init_app_refuses_a_non_number() -> None:
    with pytest.raises(ValueError, match="ARGON2_TIME_COST"):
        app = types.SimpleNamespace(config={"ARGON2_TIME_COST": "three"})
        passwords.init_app(app)  # type: ignore[arg-type]
