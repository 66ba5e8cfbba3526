"""Gunicorn settings for Red Brolly: ``gunicorn --config deploy/gunicorn.conf.py``.

Privacy first: there is no access log at all, so no client address, user agent or URL
is ever written. Gunicorn binds to loopback only, so the one error-log line that names
a peer ("Invalid request from ip=...") can only ever name nginx or Tor, never a client.
Do not add ``access_log_format`` or ``logconfig_dict``: either would bring a request
log back.

The worker class follows ``RB_ASYNC_MODE``: ``gevent`` (the default) or ``eventlet``
(still supported and tested; deploy/README.md, "gevent or eventlet", says why gevent
is the default). Gunicorn removed its eventlet worker in 26.0, so keeping eventlet
selectable needs ``gunicorn>=23,<26``, which ``deploy/Dockerfile`` and
``deploy/README.md`` pin; a deployment that stays on gevent may take newer releases.

Several workers (``WEB_CONCURRENCY`` > 1) need all of:

* ``REDIS_URL``, so that Socket.IO emits reach clients held by the other workers
  (the message queue);
* and either every client on the websocket transport only, or sticky sessions. The
  workers of one gunicorn share a listening socket and the kernel, not nginx, picks the
  worker for each connection, so Socket.IO long-polling cannot be sticky there. For
  polling clients, run several gunicorn instances with ``WEB_CONCURRENCY=1`` on
  different ports (``RB_BIND``) and let nginx hash on the session cookie
  (``deploy/nginx/redbrolly.conf``).

Environment read here:

``WEB_CONCURRENCY``  worker processes (default 1).
``RB_BIND``          address to listen on (default ``127.0.0.1:8000``; ``unix:/run/...``
                     works too). Keep it on loopback or a unix socket.
``RB_ASYNC_MODE``    ``gevent`` (default) or ``eventlet``.
``RB_LOG_LEVEL``     gunicorn's error-log level (default ``warning``).
``RB_MAX_CONNECTIONS`` connections per worker (default 10000; each needs a file descriptor,
                     see ``LimitNOFILE`` in ``deploy/systemd/redbrolly.service``).
"""

import os

wsgi_app = "forum.wsgi:app"

_async_mode = os.environ.get("RB_ASYNC_MODE", "gevent")
# Only the two green-thread servers hold thousands of idle websockets cheaply.
worker_class = "eventlet" if _async_mode == "eventlet" else "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
# Every open Socket.IO connection holds one of these for its whole life; gunicorn's
# default (1,000) refused the 1,001st chat client. Same setting as `python -m forum`.
worker_connections = int(os.environ.get("RB_MAX_CONNECTIONS", "10000"))

bind = [os.environ.get("RB_BIND", "127.0.0.1:8000")]

# No access log, in any form. Errors go to stderr (journald or `docker logs`).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("RB_LOG_LEVEL", "warning")

# Monkey-patching must happen inside each worker before the app is imported, which the
# worker class and forum/wsgi.py do. Preloading would import the app in the master.
preload_app = False

# Idle websockets are normal; the timeout watches the worker process, not requests.
timeout = 60
graceful_timeout = 20
keepalive = 5

# nginx is on the same host (or in the same network namespace) and sets
# X-Forwarded-Proto; trust that header from loopback only.
forwarded_allow_ips = "127.0.0.1,::1"

proc_name = "redbrolly"
