"""WSGI entry for gunicorn (deploy/gunicorn.conf.py): ``forum.wsgi:app``.

gunicorn's eventlet/gevent worker patches the process before importing this.
"""

from __future__ import annotations

from forum.app import create_app

app = create_app()
