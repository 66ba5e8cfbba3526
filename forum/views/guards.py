"""Small helpers the views share: sign-in guard, safe redirects, form parsing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from typing import TypeVar
from urllib.parse import urlsplit

from flask import g
from flask import redirect
from flask import request
from flask import url_for

from forum.errors import NotFound
from forum.errors import ServiceError

F = TypeVar("F", bound=Callable[..., Any])


def not_found_stays_missing(error: ServiceError) -> None:
    """A refused form shows its page again with the message, but "not found" is raised
    on: the missing page, identical to one for something that does not exist."""
    if isinstance(error, NotFound):
        raise error


def signed_in(view: F) -> F:
    """Send visitors to the login page, remembering where they were going."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("account") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: "/x", never "//evil", "https://evil" or "\\\\evil"."""
    if not target or not isinstance(target, str) or len(target) > 500:
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return default
    return target


def form_text(name: str) -> str:
    """A form field as text; a missing field is the empty string."""
    return request.form.get(name, "")


def form_flag(name: str) -> bool:
    return request.form.get(name) in ("1", "on", "true", "yes")


def int_arg(name: str, default: int = 1, low: int = 1, high: int = 10_000) -> int:
    """A bounded integer query argument; junk falls back to the default."""
    raw = request.args.get(name, "")
    try:
        value = int(raw)
    except ValueError:
        return default
    return min(max(value, low), high)
