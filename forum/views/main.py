"""Home, quick exit, and the plain pages every visitor may read."""

from __future__ import annotations

import json

from flask import Blueprint
from flask import current_app
from flask import g
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from forum import accounts
from forum import discreet
from forum import i18n
from forum import sessions
from forum import spaces
from forum import threads
from forum.errors import Invalid
from forum.views.guards import safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """The front page: what this is, and the way in; for members, their spaces and updates."""
    if g.get("account") is None:
        return render_template("index.html")
    return render_template(
        "index.html",
        updates=threads.updates(g.account, 1, per_page=5),
        my_spaces=spaces.my_spaces(g.account, 1),
    )


@bp.get("/exit")
def quick_exit():
    """Leave now: end this session, wipe what the browser holds for us, go somewhere neutral.

    A GET on purpose: it must work as a plain link without JavaScript, in one tap.
    Another site can make someone quick-exit; that costs them a sign-in (and ten minutes
    in which only the way in opens our pages), nothing more.

    Every cookie the browser sent is deleted by name, not with Clear-Site-Data's
    "cookies": Chromium applies that after the response's own Set-Cookie, and would
    wipe the two this response sets (forum/discreet.py): the device's discreet mode,
    kept, and the quick-exit mark that makes Back lead to the neutral site again.
    """
    if g.get("auth_session") is not None:
        accounts.log_out(g.auth_session)
    sessions.clear_cookie_after()
    keep_discreet = discreet.active(g.get("account"))
    if keep_discreet:
        discreet.remember_after(True)
    discreet.mark_left()
    response = redirect(current_app.config["RB_QUICK_EXIT_URL"], code=303)
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    mine = {sessions.COOKIE_NAME, discreet.COOKIE, discreet.LEFT_COOKIE}
    for name in set(request.cookies) - mine:
        response.delete_cookie(name, path="/", samesite="Lax")
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest, so a member can add the site to a home screen.

    Its name and icon are neutral unless the device chose the full look (the device's
    cookie: the page links it with ``crossorigin="use-credentials"`` so the browser
    sends it; ``discreet.neutral_head``); served from our origin,
    ``no-store`` like every page. There is no service worker: nothing is cached offline.
    """
    quiet = discreet.neutral_head(g.get("account"))
    name = _("Notes") if quiet else _("Red Brolly")
    icon = "img/favicon-discreet.svg" if quiet else "img/favicon.svg"
    icons = [{"src": url_for("static", filename=icon), "sizes": "any", "type": "image/svg+xml"}]
    if quiet:  # PNGs too, for home screens that take no SVG (tools/make_icons.py draws them)
        icons += [
            {
                "src": url_for("static", filename=f"img/notes-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
            }
            for size in (192, 512)
        ]
    body = {
        "name": name,
        "short_name": name,
        "start_url": url_for("main.index"),
        "display": "standalone",
        "icons": icons,
    }
    response = make_response(json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    response.mimetype = "application/manifest+json"
    return response


@bp.post("/discreet")
def discreet_mode():
    """The footer switch: a neutral name, icon and words on this device (``rb_discreet``).

    No account needed; a signed-in member's account setting follows (forum/discreet.py).
    """
    on = request.form.get("discreet") == "1"
    if g.get("account") is not None:
        accounts.set_discreet(g.account, on)
    discreet.remember_after(on)
    return redirect(safe_next(request.form.get("next")), code=303)


@bp.post("/language")
def language():
    """The picker (footer, first visit): a member keeps it on the account, everyone in a cookie.

    A form of plain buttons, so it works without JavaScript; back to the page it was on.
    """
    code = i18n.valid_language(request.form.get("lang"))
    if code is None:
        raise Invalid(_("We don't have that language yet."))
    if g.get("account") is not None:
        accounts.set_language(g.account, code)
    response = make_response(redirect(safe_next(request.form.get("next")), code=303))
    sessions.put_cookie(response, i18n.LANG_COOKIE, code, i18n.COOKIE_MAX_AGE)
    return response
