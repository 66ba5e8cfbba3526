"""WSGI entry for gunicorn (deploy/gunicorn.conf.py): ``forum.wsgi:app``.

gunicorn's gevent (default) or eventlet worker patches the process before importing this.
"""

from __future__ import annotations

from forum import expiry
from forum.app import create_app
from forum.app import server_started
from forum.safety import checkins

app = create_app()
server_started(app)
# One sweep loop per worker process (gunicorn does not preload the app: see
# deploy/gunicorn.conf.py); concurrent sweepers are safe by design.
expiry.start_sweeper(app)
checkins.start_timer(app)  # missed check-ins: the row is the timer, so any worker may fire it, once
