"""Red Brolly: the forum package (app factory, accounts, spaces, threads, expiry).

``create_app`` is imported lazily (PEP 562): ``python -m forum`` runs this file
before ``forum/__main__.py``, and importing Flask here would come before
``__main__``'s monkey patch (gevent or eventlet), which must run first.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from forum.app import create_app

        return create_app
    raise AttributeError(f"module 'forum' has no attribute {name!r}")
