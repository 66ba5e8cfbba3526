"""Red Brolly: the forum package (app factory, accounts, spaces, threads, expiry)."""

from forum.app import create_app

__all__ = ["create_app"]
