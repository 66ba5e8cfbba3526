"""Watched words per space: block, hold for approval, or flag.

Moderators write simple patterns: whole words or phrases, ``*`` for "any letters"
inside a word, case-insensitive, unicode-normalised (width, accents and
invisible characters do not dodge them). No regular expressions from users:
text and patterns are split into words and compared with a linear glob match
(prefix, suffix, then each middle piece found in order with ``str.find``), so a
pattern can never make matching slow.
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from flask_babel import gettext as _

from forum import access
from forum import clock
from forum import statements
from forum import text
from forum.access import SpaceAccess
from forum.errors import Conflict
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.pagination import paginate
from forum.screening import ALLOW
from forum.screening import Verdict
from moderation.models import WORD_ACTIONS
from moderation.models import WatchWord

PATTERN_MAX = 60
MAX_WORDS_PER_SPACE = 200
MAX_PHRASE_WORDS = 6
MAX_TEXT = 50_000  # beyond a post's limit; longer text is screened on its first part
_WORD = re.compile(r"\w+")
_PATTERN_WORD = re.compile(r"[\w*]+")


def normalise(text: str) -> str:
    """Fold width, case and accents; drop invisible format characters."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Cf"))
    return unicodedata.normalize("NFKC", kept).casefold()


def parse_pattern(raw: object) -> str:
    """The stored form of a moderator's pattern, or Invalid."""
    words = _PATTERN_WORD.findall(normalise(text.clean(raw, _("word or phrase"), PATTERN_MAX)))
    words = [re.sub(r"\*{2,}", "*", w) for w in words]
    if not words or sum(len(w.replace("*", "")) for w in words) < 2:
        raise Invalid(_("The pattern needs at least two letters besides *."))
    if len(words) > MAX_PHRASE_WORDS:
        raise Invalid(
            _(
                "A phrase can have at most %(max_phrase_words)s words.",
                max_phrase_words=MAX_PHRASE_WORDS,
            )
        )
    return " ".join(words)


def glob_match(pattern: str, word: str) -> bool:
    """Whole-word match where ``*`` stands for any run of letters (linear time)."""
    if "*" not in pattern:
        return pattern == word
    pieces = pattern.split("*")
    first, last = pieces[0], pieces[-1]
    if len(word) < len(first) + len(last) or not word.startswith(first) or not word.endswith(last):
        return False
    position, end = len(first), len(word) - len(last)
    for piece in pieces[1:-1]:
        if not piece:
            continue
        found = word.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def matches(pattern: str, words: list[str], vocabulary: set[str]) -> bool:
    parts = pattern.split(" ")
    if len(parts) == 1:
        if "*" not in pattern:
            return pattern in vocabulary
        return any(glob_match(pattern, w) for w in vocabulary)
    k = len(parts)
    return any(
        all(glob_match(parts[j], words[i + j]) for j in range(k)) for i in range(len(words) - k + 1)
    )


# Every post and chat message asks: built once (building it per call cost more than the
# query itself, measured in process: ~360 us a call before, ~50 us a Core execution).
_SPACE_WORDS = (
    sa.select(WatchWord.__table__.c.pattern, WatchWord.__table__.c.action)
    .where(WatchWord.__table__.c.space_id == sa.bindparam("space_id"))
    .limit(MAX_WORDS_PER_SPACE)
)


def screen(space_id: int, text: object, pairs: list | None = None) -> Verdict:
    """What the space's watched words say about ``text``: the strongest action wins.

    ``pairs``: the space's ``(pattern, action)`` pairs as a caller read them with what it
    reads anyway (:func:`words_of_space`, a chat send); else they are read here."""
    if not isinstance(text, str) or not text:
        return ALLOW
    if pairs is None:
        rows = statements.run(_SPACE_WORDS, {"space_id": space_id}).all()
    else:
        rows = pairs[:MAX_WORDS_PER_SPACE]
    if not rows:
        return ALLOW
    words = _WORD.findall(normalise(text[:MAX_TEXT]))
    vocabulary = set(words)
    for pattern, action in sorted(rows, key=lambda row: WORD_ACTIONS.index(row[1])):
        if matches(pattern, words, vocabulary):
            return Verdict(action, pattern)
    return ALLOW


def words_of_space(space_id: sa.ColumnElement[int], dialect: str) -> sa.ScalarSelect:
    """The space's watched words as one column (a JSON array of ``[pattern, action]``;
    NULL or ``[]`` for none), for a statement that reads the space anyway: a chat send's
    access statement (one statement fewer a message). :func:`screen` takes the list.
    No LIMIT in SQL (the aggregate reads the space's whole list): :func:`add_word` keeps a
    space within ``MAX_WORDS_PER_SPACE``, and ``screen`` takes no more than that."""
    table = WatchWord.__table__
    if dialect == "postgresql":
        pairs = sa.func.json_agg(sa.func.json_build_array(table.c.pattern, table.c.action))
    else:
        pairs = sa.func.json_group_array(sa.func.json_array(table.c.pattern, table.c.action))
    return (
        sa.select(sa.type_coerce(pairs, sa.JSON))
        .where(table.c.space_id == space_id)
        .scalar_subquery()
    )


# --- Moderators manage the list -------------------------------------------------


def _manage(actor: Account, slug: object) -> SpaceAccess:
    space_access = access.access_space(actor, slug)
    space_access.require_role("moderator")
    return space_access


def list_words(
    actor: Account, slug: object, page: int = 1, per_page: int = 50
) -> tuple[SpaceAccess, list[WatchWord], bool]:
    space_access = _manage(actor, slug)
    found = paginate(
        sa.select(WatchWord)
        .where(WatchWord.space_id == space_access.space.id)
        .order_by(WatchWord.pattern),
        page,
        per_page,
    )
    return space_access, found.items, found.has_next


def add_word(actor: Account, slug: object, raw: object, action: object) -> WatchWord:
    space_access = _manage(actor, slug)
    if action not in WORD_ACTIONS:
        raise Invalid(_("Please choose block, hold or flag."))
    pattern = parse_pattern(raw)
    space_id = space_access.space.id
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(WatchWord).where(WatchWord.space_id == space_id)
    )
    if count >= MAX_WORDS_PER_SPACE:
        raise Invalid(
            _(
                "A space can watch at most %(max_words_per_space)s words.",
                max_words_per_space=MAX_WORDS_PER_SPACE,
            )
        )
    if (
        db.session.scalar(
            sa.select(WatchWord.id).where(
                WatchWord.space_id == space_id, WatchWord.pattern == pattern
            )
        )
        is not None
    ):
        raise Conflict(_("That word is already on the list."))
    row = WatchWord(space_id=space_id, pattern=pattern, action=action, created_at=clock.now())
    db.session.add(row)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(_("That word is already on the list.")) from None
    return row


def remove_word(actor: Account, slug: object, word_id: object) -> None:
    space_access = _manage(actor, slug)
    row = db.session.get(WatchWord, access.row_id(word_id))
    if row is None or row.space_id != space_access.space.id:
        raise NotFound()
    db.session.delete(row)
    db.session.commit()
