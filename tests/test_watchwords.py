"""Watched words: globs only, normalised, linear matching, strongest action wins."""

from __future__ import annotations

import time

import pytest

from forum.errors import Conflict
from forum.errors import Forbidden
from forum.errors import Invalid
from moderation import watchwords
from tests.factories import add_member
from tests.factories import make_space


@pytest.fixture
def space_with_mod(app, make_account):
    space = make_space(slug="words")
    mod, member = make_account("Mina"), make_account("Ana")
    add_member(space, mod, "moderator")
    add_member(space, member)
    return space, mod, member


def test_screen_actions_and_normalisation(space_with_mod):
    space, mod, _member = space_with_mod
    watchwords.add_word(mod, "words", "whore", "block")
    watchwords.add_word(mod, "words", "rescue*", "hold")
    watchwords.add_word(mod, "words", "free money", "flag")
    assert watchwords.screen(space.id, "hello there") == watchwords.ALLOW
    assert watchwords.screen(space.id, "you W\u200bHORE").action == "block"
    assert watchwords.screen(space.id, "ｗｈｏｒｅ").action == "block"  # full-width
    assert watchwords.screen(space.id, "whores").action == "allow"  # whole word only
    assert watchwords.screen(space.id, "we can RESCUED you").action == "hold"
    assert watchwords.screen(space.id, "Free   money!!").action == "flag"
    assert watchwords.screen(space.id, "rescuers offer free money, whore").action == "block"


@pytest.mark.parametrize(
    "raw", ["", "   ", "*", "**", "a", "(a+)+$", "x" * 61, "a b c d e f g h", None, 5]
)
def test_bad_patterns_are_refused(space_with_mod, raw):
    _space, mod, _member = space_with_mod
    with pytest.raises(Invalid):
        watchwords.add_word(mod, "words", raw, "block")


def test_regex_syntax_is_literal_and_duplicates_refused(space_with_mod):
    space, mod, member = space_with_mod
    row = watchwords.add_word(mod, "words", "c.*t", "flag")
    assert row.pattern == "c *t"  # punctuation splits words; no regex
    with pytest.raises(Conflict):
        watchwords.add_word(mod, "words", "C.*T", "block")
    with pytest.raises(Invalid):
        watchwords.add_word(mod, "words", "ok word", "explode")
    with pytest.raises(Forbidden):
        watchwords.add_word(member, "words", "word", "flag")


def test_glob_is_linear(space_with_mod):
    space, mod, _member = space_with_mod
    watchwords.add_word(mod, "words", "a*a*a*a*b", "flag")
    text = ("a" * 5000 + " ") * 8
    start = time.perf_counter()
    assert watchwords.screen(space.id, text).action == "allow"
    assert time.perf_counter() - start < 1.0
    assert watchwords.glob_match("a*b*c", "axxbyyc") and not watchwords.glob_match("a*b*c", "acb")
