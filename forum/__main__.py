"""``python -m forum``: serve HTTP and Socket.IO (gevent unless RB_ASYNC_MODE says eventlet).

Both are tested; why gevent is the default: deploy/README.md. ``threading`` is for tests.
"""

from __future__ import annotations

import os
import warnings

MODE = os.environ.get("RB_ASYNC_MODE", "gevent")
if MODE == "eventlet":
    # Still supported and tested; its maintainers' notice (they discourage new use) is
    # known and would otherwise open every server log.
    warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()
elif MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

from forum import expiry  # noqa: E402 - must follow the monkey patch
from forum.app import create_app  # noqa: E402
from forum.app import server_started  # noqa: E402
from forum.extensions import socketio  # noqa: E402
from forum.listener import gevent_handler  # noqa: E402
from forum.listener import nodelay_listener  # noqa: E402
from forum.safety import checkins  # noqa: E402


def main() -> None:
    app = create_app()
    server_started(app)
    expiry.start_sweeper(app)  # once per process; RB_SWEEP_INTERVAL=0 turns it off
    checkins.start_timer(app)  # missed check-ins; RB_CHECKIN_INTERVAL=0 turns it off
    host = os.environ.get("RB_HOST", "127.0.0.1")
    port = int(os.environ.get("RB_PORT", "5000"))
    print(f"Red Brolly on http://{host}:{port} ({app.config['RB_ASYNC_MODE_IN_USE']})", flush=True)
    if MODE == "threading":  # Werkzeug's development server: tests only
        socketio.run(app, host=host, port=port, log_output=False, allow_unsafe_werkzeug=True)
        return
    # log_output=False / log=None: the servers' access logs would print every client address.
    listener = nodelay_listener(host, port)
    if MODE == "eventlet":
        import eventlet.wsgi

        # eventlet.wsgi serves at most 1,024 connections at once by default (max_size), and
        # every open Socket.IO connection is one: the rest would wait unanswered. gevent's
        # server has no such cap. RB_MAX_CONNECTIONS sets it (each also needs a file
        # descriptor: raise `ulimit -n` / LimitNOFILE to match).
        cap = app.config["RB_MAX_CONNECTIONS"]
        eventlet.wsgi.server(listener, app, log_output=False, max_size=cap)
    else:
        from gevent import pywsgi

        server = pywsgi.WSGIServer(listener, app, log=None, handler_class=gevent_handler())
        server.serve_forever()


if __name__ == "__main__":
    main()
