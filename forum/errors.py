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


class NeedsConfirmation(Invalid):  # noqa: N818 - a request to confirm, not a failure
    """The text seems to hold personal details: stored only once its author confirms.

    ``findings`` are what was found (each has ``kind`` and ``text``); ``details``
    say it in words, one line each, with the end of each finding left off (in
    case someone reads over the author's shoulder), for the "Post it anyway" box.
    """

    status = 422

    def __init__(self, message: str, findings: list, details: list[str]) -> None:
        super().__init__(message)
        self.findings = findings
        self.details = details


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
            message
            or f"Too many attempts. Please wait {self.retry_after} seconds and try again."
        )
