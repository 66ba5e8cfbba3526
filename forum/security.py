"""Response headers every page carries: no third party, no framing, no caching."""

from __future__ import annotations

from flask import current_app
from flask import request
from flask.wrappers import Response

# Everything comes from our own origin. No inline script anywhere (so no
# 'unsafe-inline' in script-src); inline styles are refused too. connect-src
# 'self' covers the Socket.IO websocket on the same origin in current browsers.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
PERMISSIONS = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "interest-cohort=(), browsing-topics=()"
)


def secure_headers(response: Response) -> Response:
    """``after_request``: the privacy baseline headers on every response."""
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Permissions-Policy"] = PERMISSIONS
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if request.is_secure or current_app.config["RB_PUBLIC_ORIGIN"].startswith("https://"):
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    # A shared or seized phone must not keep pages in its cache. Static files
    # hold nothing personal and may be cached; every page, signed in or not, is no-store.
    if not request.path.startswith("/static/"):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response
