"""Rules the safety tools need from moderation, which forum code may not import.

Imports point one way (forum <- moderation <- realtime), yet bad-date reports ask
the privacy guard about their descriptions and alerts ask the trust levels who
may raise one. ``moderation.init_app`` registers its functions here with
:func:`register`. Until it has, every rule answers "no" (fail closed).

Trust is asked about the name a person shows in a space (their membership), never
their account, as everywhere else (``moderation/trust.py``, docs/PRIVACY.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from forum.models import Account
from forum.models import Membership


@dataclass(frozen=True)
class Found:
    """Something in a text that looks like a personal identifier."""

    kind: str  # "phone" | "email" | "address"
    text: str


def _closed(*_args: Any) -> Any:
    raise RuntimeError("moderation is not initialised: safety rules are unavailable")


_rules: dict[str, Callable[..., Any]] = {}


def register(
    *,
    find_identifiers: Callable[[str], list[Found]],
    trust_level: Callable[[Account, Membership | None, datetime], int],
    trusted_level: int,
    can_raise_alert: Callable[[Account, Membership | None, datetime], bool],
    log_alert_removal: Callable[..., Any],
) -> None:
    """Called by ``moderation.init_app`` (idempotent: the same functions again)."""
    _rules.update(
        find_identifiers=find_identifiers,
        trust_level=trust_level,
        can_raise_alert=can_raise_alert,
        trusted_level=lambda: trusted_level,
        log_alert_removal=log_alert_removal,
    )


def find_identifiers(text: str) -> list[Found]:
    """The privacy guard's findings in ``text`` (phone numbers, emails, addresses)."""
    return _rules.get("find_identifiers", _closed)(text)


def is_trusted(account: Account, membership: Membership | None, now: datetime) -> bool:
    """The name shown in the space is at trust level 2 ("trusted"; an instance
    admin's everyday alias is)."""
    level = _rules.get("trust_level", _closed)(account, membership, now)
    return level >= _rules.get("trusted_level", _closed)()


def can_raise_alert(account: Account, membership: Membership | None, now: datetime) -> bool:
    """The name shown in the space may raise an urgent alert (trust level 1 up)."""
    return bool(_rules.get("can_raise_alert", _closed)(account, membership, now))


def log_alert_removal(
    space_access: Any, moderator: Account, *, author_id: int | None, author_name: str, reason: str
) -> None:
    """A moderator removed an urgent alert: a line in the space's moderation log, added to
    the caller's transaction (the caller commits it with the removal)."""
    _rules.get("log_alert_removal", _closed)(
        space_access, moderator, author_id=author_id, author_name=author_name, reason=reason
    )
