"""The seam every forum write passes through before it is stored.

Forum does not know the rules (watched words, links from new accounts, the privacy
guard): moderation owns them (``moderation/screening.py``) and installs them here in
``moderation.init_app``, so forum never imports moderation. Services call:

1. ``check(actor, space_id, parts, confirmed=...)`` before writing: raises
   ``Invalid``, ``Forbidden`` or ``NeedsConfirmation``, or returns a verdict whose
   ``action`` is "allow", "hold" or "flag";
2. ``apply(verdict, kind, item, space_name)`` once the row exists, in the same
   transaction: True if the item is now held (hidden until a moderator keeps it);
3. ``words(space_id, text)``: the watched-word verdict alone (which part of an edit
   matched).

With no screener installed, writing fails loudly rather than storing unscreened text.
"""

from __future__ import annotations

from typing import Any
from typing import Protocol

from flask import Flask
from flask import current_app

from forum.models import Account

EXTENSION = "rb_screener"


class Verdict(Protocol):
    action: str


class Screener(Protocol):
    def check(
        self, actor: Account, space_id: int, parts: list[object], *, confirmed: bool
    ) -> Verdict: ...

    def words(self, space_id: int, text: str) -> Verdict: ...

    def apply(self, verdict: Verdict, kind: str, item: Any, space_name: str) -> bool: ...


def install(app: Flask, screener: Screener) -> None:
    app.extensions[EXTENSION] = screener


def _screener() -> Screener:
    screener = current_app.extensions.get(EXTENSION)
    if screener is None:
        raise RuntimeError("No screener installed: the factory runs moderation.init_app")
    return screener


def check(actor: Account, space_id: int, parts: list[object], *, confirmed: bool) -> Verdict:
    return _screener().check(actor, space_id, parts, confirmed=confirmed)


def words(space_id: int, text: str) -> Verdict:
    return _screener().words(space_id, text)


def apply(verdict: Verdict, kind: str, item: Any, space_name: str) -> bool:
    return _screener().apply(verdict, kind, item, space_name)
