"""The screening seam: what forum services ask before they store anyone's words.

Every thread, reply and edit passes moderation's one screening path
(``moderation/screening.py``: watched words, links from new accounts, the
privacy guard), the same one chat messages pass. Imports point forum <-
moderation <- realtime, so forum cannot import it: ``moderation.init_app``
installs it on the app with :func:`install`, and forum services reach it
through :func:`screener`. An app without it stores nothing (fails closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import Protocol

from flask import Flask
from flask import current_app

from forum.models import Account

EXTENSION = "rb_screener"


@dataclass(frozen=True)
class Verdict:
    """What screening let through, for :meth:`Screener.apply` once the row exists.

    ``action`` is "allow", "hold" or "flag" ("block" never gets this far);
    ``word`` the watched word that decided it; ``in_title`` says the word is in
    the title, so the thread is held or flagged, not only its first post.
    """

    action: str  # "allow" | "block" | "hold" | "flag"
    word: str | None = None
    in_title: bool = False


ALLOW = Verdict("allow")


class Screener(Protocol):
    def check(
        self,
        actor: Account,
        space_id: int,
        parts: Sequence[str | None],
        *,
        confirmed: bool,
        title: str | None = None,
        inline: bool = False,
        links: Sequence[str] | None = None,
    ) -> Verdict:
        """Refuse the text (Invalid, Forbidden, NeedsConfirmation) or return the verdict."""
        ...

    def apply(
        self, verdict: Verdict, kind: str, item: Any, space_name: str
    ) -> dict[str, Any] | None:
        """Flag or hold the stored ``item`` (no commit); the ``content_hidden`` payload if held."""
        ...


def install(app: Flask, implementation: Screener) -> None:
    app.extensions[EXTENSION] = implementation


def screener() -> Screener:
    """The app's screening (needs an app context)."""
    implementation = current_app.extensions.get(EXTENSION)
    if implementation is None:
        raise RuntimeError("No screening registered: the factory must call moderation.init_app.")
    return implementation
