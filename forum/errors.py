"""Errors that services raise and adapters (HTTP views, Socket.IO handlers) translate.

Every business failure is one of these; adapters map them in one place
(``forum/views/errors.py`` for HTTP, ``realtime/namespace.py`` for acks), so bad
input never becomes a 500.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: ``message`` is plain, user-facing text."""

    status = 400

    def __init__(self, message: str = "Something is wrong with that request.") -> None:
        super().__init__(message)
        self.message = message


class Invalid(ServiceError):
    """The input breaks a rule (too long, wrong type, reserved name, ...)."""

    status = 400


class NotFound(ServiceError):
    """The thing does not exist, *or the actor may not see it*: the same answer."""

    status = 404

    def __init__(self, message: str = "We could not find that page.") -> None:
        super().__init__(message)


class Forbidden(ServiceError):
    """The actor may see the thing but may not do this."""

    status = 403

    def __init__(self, message: str = "You can't do that here.") -> None:
        super().__init__(message)


class Conflict(ServiceError):
    """The action clashes with stored state (alias taken, already flagged, ...)."""

    status = 409


class RateLimited(ServiceError):
    """Too many attempts; ``retry_after`` is in whole seconds."""

    status = 429

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(
            message or f"Too many attempts. Please wait {self.retry_after} seconds and try again."
        )


class NeedsConfirmation(Invalid):
    """Stored only once the author confirms ("Post it anyway"); ``details``: one line per reason.

    Raised by the screening moderation installs (``moderation/guard.py`` says why);
    defined here so forum's views can ask for the confirmation without importing it.
    """

    status = 422

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.details = list(details or [])
