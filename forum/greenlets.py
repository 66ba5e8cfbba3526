"""Which green-thread library, if any, patched this process (the entry points do)."""

from __future__ import annotations

import sys


def patched_by() -> str | None:
    """``"eventlet"``, ``"gevent"`` or None.

    Only a process that already imported a library can have been patched by it, so
    neither is imported here (importing eventlet prints its deprecation notice).
    """
    if "eventlet" in sys.modules:
        import eventlet.patcher

        if eventlet.patcher.is_monkey_patched("socket"):
            return "eventlet"
    if "gevent" in sys.modules:
        from gevent import monkey

        if monkey.is_module_patched("socket"):
            return "gevent"
    return None
