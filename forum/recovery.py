"""Recovery codes: the only way back into an account, since we hold no email.

Six codes of four groups of four letters (``ABCD-EFGH-JKMN-PQRS``): letters only, so a
phone keeps its letter keyboard, from 22 that nobody misreads (no I, L, O or U, and no
digits to take for them). Each code is about 71 bits: why that is enough, with the
arithmetic, is in docs/SECURITY.md ("Recovery codes").

Typing is forgiving: small letters, spaces, dashes (any kind), full-width letters and
the Cyrillic or Greek letters that look like ours all read as the code.

Codes are stored as SHA-256 hashes salted with the account's id. Codes made before
(ten of ``2345-ABCD-WXYZ``, hashed without the salt) still work until spent or replaced.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Account
from forum.models import RecoveryCode

CODE_COUNT = 6
ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS = 4
GROUP_LEN = 4  # 16 letters from 22: log2(22 ** 16) = 71.3 bits (docs/SECURITY.md)
LONGEST = 64  # what a code field takes; anything longer is refused before any work
# Letters of other scripts that a keyboard may give for ours (after upper-casing).
LOOKALIKES = str.maketrans(
    "АВЕКМНРСТУХΑΒΕΖΗΚΜΝΡΤΥΧ",  # Cyrillic, Greek
    "ABEKMHPCTYXABEZHKMNPTYX",
)
# Any dash (hyphen, en dash, minus sign, ...) and any space is only a separator.
_SEPARATORS = frozenset("-_.\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d")


def normalise_code(raw: str) -> str:
    """Upper-case, other scripts' look-alikes made ours, spaces and dashes dropped, so
    people can type codes loosely. ASCII input normalises exactly as it always did."""
    folded = unicodedata.normalize("NFKC", raw).upper().translate(LOOKALIKES)
    return "".join(ch for ch in folded if not ch.isspace() and ch not in _SEPARATORS)


def _legacy_hash(raw: str) -> str:
    """The hash of codes made before the salt (still accepted)."""
    return hashlib.sha256(normalise_code(raw).encode("utf-8", "surrogatepass")).hexdigest()


def hash_code(account_id: int, raw: str) -> str:
    """The stored hash: salted with the account's id, so one guess tests one account's
    codes, never every account's at once."""
    salted = f"rb-recovery-2:{account_id}:{normalise_code(raw)}"
    return hashlib.sha256(salted.encode("utf-8", "surrogatepass")).hexdigest()


def _new_code() -> str:
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LEN)) for _ in range(GROUPS))
    return "-".join(groups)


def replace_codes(account: Account) -> list[str]:
    """Void every code of ``account`` and add fresh ones (caller commits)."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    codes = [_new_code() for _ in range(CODE_COUNT)]
    for code in codes:
        db.session.add(RecoveryCode(account_id=account.id, code_hash=hash_code(account.id, code)))
    return codes


def _find(account: Account, raw: object) -> RecoveryCode | None:
    if not isinstance(raw, str) or not 4 <= len(raw) <= LONGEST:
        return None
    return db.session.scalar(
        sa.select(RecoveryCode).where(
            RecoveryCode.account_id == account.id,
            RecoveryCode.code_hash.in_([hash_code(account.id, raw), _legacy_hash(raw)]),
        )
    )


def spend_code(account: Account, raw: object) -> bool:
    """Delete the matching code of ``account`` (caller commits); False if none."""
    row = _find(account, raw)
    if row is None:
        return False
    db.session.delete(row)
    return True


def shown_codes(account: Account, shown: list[object]) -> list[str]:
    """``shown`` (the codes a page showed, sent back with the form that asks for one), if
    they are all unspent codes of ``account``; else an empty list (codes made since in
    another tab, or a form filled by hand)."""
    if not 1 <= len(shown) <= CODE_COUNT or len(set(map(str, shown))) != len(shown):
        return []
    if any(_find(account, code) is None for code in shown):
        return []
    return [str(code) for code in shown]


def same_code(typed: str, code: str) -> bool:
    """``typed`` is ``code``, read loosely (``normalise_code``)."""
    return secrets.compare_digest(
        normalise_code(typed).encode("utf-8", "surrogatepass"),
        normalise_code(code).encode("utf-8", "surrogatepass"),
    )


def pick_one(count: int) -> int:
    """Which code (1..``count``) to ask back: the server's choice, at random."""
    return secrets.randbelow(count) + 1


def remaining(account: Account) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.account_id == account.id)
        )
        or 0
    )
