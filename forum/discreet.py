"""Discreet mode: a neutral name ("Notes"), a plain icon and plain words on every page.

The switch is the device's: the ``rb_discreet`` cookie (one year, HttpOnly,
SameSite=Lax), set by the footer button on every page, signed in or not, no account
needed. A member's account setting (Account -> Preferences) is the same switch kept on
the account, so it follows them to a new device.

Precedence: a page is discreet when the device cookie **or** the signed-in member's
account says so (never less discreet than either). Logging in with the account setting
on turns the device's cookie on; switching off (footer or preferences) while signed in
turns off both. Logging out, and quick exit, keep the device's choice: the next page
this device shows, Back after a quick exit included, stays neutral.
"""

from __future__ import annotations

from flask import Response
from flask import g
from flask import request

from forum import sessions
from forum.models import Account

COOKIE = "rb_discreet"
COOKIE_MAX_AGE = 365 * 24 * 3600


def on_this_device() -> bool:
    return request.cookies.get(COOKIE) == "1"


def active(account: Account | None) -> bool:
    """This page is discreet: the device's choice, or the member's."""
    return on_this_device() or bool(account and account.discreet)


def remember_after(on: bool) -> None:
    """Send the device's switch with this response (``write_cookie``)."""
    g.discreet_cookie = on


def write_cookie(response: Response) -> Response:
    """``after_request``: set or clear the device's switch when a view asked to."""
    on = g.get("discreet_cookie")
    if on is None:
        return response
    if on:
        response.set_cookie(
            COOKIE,
            "1",
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=sessions.cookie_secure(),
        )
    else:
        response.delete_cookie(
            COOKIE, httponly=True, samesite="Lax", secure=sessions.cookie_secure()
        )
    return response
