"""Recovery codes: the only way back into an account, since we hold no email."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Account
from forum.models import RecoveryCode

CODE_COUNT = 10
# Crockford-style alphabet without 0/O, 1/I/L, U: nothing to misread on a small screen.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS = 3
GROUP_LEN = 4  # 12 symbols from 30 = about 59 bits: a fast hash is enough


def normalise_code(raw: str) -> str:
    """Uppercase, drop spaces and dashes, so people can type codes loosely."""
    return "".join(ch for ch in raw.upper() if ch not in " -\t")


def hash_code(raw: str) -> str:
    return hashlib.sha256(normalise_code(raw).encode("utf-8", "surrogatepass")).hexdigest()


def _new_code() -> str:
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LEN)) for _ in range(GROUPS))
    return "-".join(groups)


def replace_codes(account: Account) -> list[str]:
    """Void every code of ``account`` and add fresh ones (caller commits)."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    codes = [_new_code() for _ in range(CODE_COUNT)]
    for code in codes:
        db.session.add(RecoveryCode(account_id=account.id, code_hash=hash_code(code)))
    return codes


def spend_code(account: Account, raw: str) -> bool:
    """Delete the matching code of ``account`` (caller commits); False if none."""
    if not isinstance(raw, str) or not 4 <= len(raw) <= 64:
        return False
    row = db.session.scalar(
        sa.select(RecoveryCode).where(
            RecoveryCode.account_id == account.id, RecoveryCode.code_hash == hash_code(raw)
        )
    )
    if row is None:
        return False
    db.session.delete(row)
    return True


def remaining(account: Account) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.account_id == account.id)
        )
        or 0
    )
