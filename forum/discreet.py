"""Discreet mode: a neutral name ("Notes"), a plain icon and plain words on every page.

The switch is the device's: the ``rb_discreet`` cookie (one year, HttpOnly,
SameSite=Lax): "1" the plain look, "0" the full look. It is set by the footer button on
every page and by the first-visit panel, signed in or not, no account needed.

Until a device has chosen, what the browser keeps is neutral (``neutral_head``): every
page's title is "Notes", its icon the plain one, and the manifest names "Notes", so
history, tabs and the home screen say nothing from the very first page. The page itself
shows the full look and the first-visit panel offers the choice in plain words.

A member's account setting (Account -> Preferences) is the same switch kept on the
account, so it follows them to a new device.

Precedence: a page is discreet when the device cookie **or** the signed-in member's
account says so (never less discreet than either). Logging in with the account setting
on turns the device's cookie on; switching off (footer or preferences) while signed in
turns off both. Logging out, and quick exit, keep the device's choice: the next page
this device shows stays neutral.

Quick exit also marks the browser for ten minutes (``rb_left``): every page but the
way back in (log in, sign up, recovery) sends it to the neutral site again, so Back
after a quick exit returns to nothing of ours, with or without JavaScript.
"""

from __future__ import annotations

from flask import Response
from flask import current_app
from flask import g
from flask import redirect
from flask import request

from forum import sessions
from forum.models import Account

COOKIE = "rb_discreet"
COOKIE_MAX_AGE = 365 * 24 * 3600
# Quick exit's mark: for this long, Back (or any page but the way in) leads this browser
# to the neutral site again instead of one of our pages.
LEFT_COOKIE = "rb_left"
LEFT_SECONDS = 10 * 60
# What a browser that just left may still open: the way back in, and what pages load.
WAY_IN = frozenset({"auth.login", "auth.signup", "auth.recover", "static", "health.healthz"})


def on_this_device() -> bool:
    return request.cookies.get(COOKIE) == "1"


def chosen_on_this_device() -> bool:
    """This device has chosen a look: plain ("1") or full ("0")."""
    return request.cookies.get(COOKIE) in ("0", "1")


def neutral_head(account: Account | None) -> bool:
    """What the browser keeps of this page (its title, its icon, the manifest's name and
    icon: history, tabs, the home screen) is neutral: the page is discreet, or this
    device has not chosen the full look yet. A device's first page names nothing."""
    return active(account) or request.cookies.get(COOKIE) != "0"


def active(account: Account | None) -> bool:
    """This page is discreet: the device's choice, or the member's."""
    return on_this_device() or bool(account and account.discreet)


def remember_after(on: bool) -> None:
    """Send the device's switch with this response (``write_cookie``)."""
    g.discreet_cookie = on


def mark_left() -> None:
    """Quick exit: this browser just left (``LEFT_COOKIE``)."""
    g.left_cookie = True


def just_left() -> Response | None:
    """``before_request``: a browser that quick-exited minutes ago gets the neutral site
    for every page but the way in, so Back after a quick exit shows none of ours (the
    pages are ``no-store``: Back fetches them again). Logging in or signing up ends it."""
    if request.cookies.get(LEFT_COOKIE) != "1" or request.endpoint in WAY_IN:
        return None
    if request.method not in ("GET", "HEAD") or request.path.startswith("/socket.io"):
        return None
    return redirect(current_app.config["RB_QUICK_EXIT_URL"], code=303)


def write_cookie(response: Response) -> Response:
    """``after_request``: set or clear the device's switch when a view asked to; the
    quick-exit mark, set by quick exit and cleared by the way back in."""
    if g.get("left_cookie"):
        sessions.put_cookie(response, LEFT_COOKIE, "1", LEFT_SECONDS)
    elif g.get("new_session_token") and request.cookies.get(LEFT_COOKIE):
        sessions.put_cookie(response, LEFT_COOKIE, None)
    on = g.get("discreet_cookie")
    if on is None:
        return response
    sessions.put_cookie(response, COOKIE, "1" if on else "0", COOKIE_MAX_AGE)
    return response
