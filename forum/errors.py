"""Errors that services raise and adapters (HTTP views, Socket.IO handlers) translate.

Every business failure is one of these; adapters map them in one place
(``forum/views/errors.py`` for HTTP, ``realtime/namespace.py`` for acks), so bad
input never becomes a 500.
"""

from __future__ import annotations

import math

from flask_babel import gettext as _
from flask_babel import ngettext


class ServiceError(Exception):
    """Base class: ``message`` is plain, user-facing text."""

    status = 400

    def __init__(self, message: str | None = None) -> None:
        # Marked where raised (gettext, in the request's or the socket's language); a lazy
        # string is fixed here, in the language of the moment, so every adapter gets text.
        message = (
            str(message) if message is not None else _("Something is wrong with that request.")
        )
        super().__init__(message)
        self.message = message


class Invalid(ServiceError):
    """The input breaks a rule (too long, wrong type, reserved name, ...)."""

    status = 400


class NotFound(ServiceError):
    """The thing does not exist, *or the actor may not see it*: the same answer."""

    status = 404

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("We could not find that page."))


class Forbidden(ServiceError):
    """The actor may see the thing but may not do this."""

    status = 403

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("You can't do that here."))


class Conflict(ServiceError):
    """The action clashes with stored state (alias taken, already flagged, ...)."""

    status = 409


class RateLimited(ServiceError):
    """Too many attempts; ``retry_after`` is in whole seconds."""

    status = 429

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message or wait_message(self.retry_after))


class NeedsConfirmation(Invalid):
    """Stored only once the author confirms ("Post it anyway"); ``details``: one line per reason.

    Raised by the screening moderation installs (``moderation/guard.py`` says why);
    defined here so forum's views can ask for the confirmation without importing it.
    """

    status = 422

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.details = list(details or [])


def wait_message(seconds: int) -> str:
    """ "Too many attempts" with the wait in whole minutes (rounded up), in the reader's words."""
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many tries. Please wait %(num)d minute and try again.",
        "Too many tries. Please wait %(num)d minutes and try again.",
        minutes,
    )
