"""Real-time: Socket.IO chat and the live channel for the rest of the app.

Forum and moderation never import this package: ``init_app`` plugs chat into them
(its expirer and retention, its kind of moderated content, a room for each new
space, the rooms on the space page, stale-socket upkeep).
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask
from flask import current_app

from forum import clock
from forum import expiry
from forum import retention
from forum import signals
from forum.extensions import db
from forum.extensions import socketio
from moderation import targets
from realtime import chat
from realtime import push
from realtime import sockets
from realtime import views
from realtime.models import ChatMessage
from realtime.namespace import ChatNamespace
from realtime.throttle import Throttle

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Register the chat pages, the /chat namespace, the push receivers and chat's hooks.

    Runs after ``socketio.init_app``: a namespace object registered here exists on
    every app the factory builds (module-level ``@socketio.on`` would not:
    docs/STACK_FACTS.md).
    """
    app.register_blueprint(views.bp)
    if app.config.get("RB_TRACE_EVENTS"):
        _trace_events()
    per_socket = Throttle(app.config["RB_SOCKET_RATE"], app.config["RB_SOCKET_BURST"])
    slots = app.extensions["rb_event_slots"]  # forum/greenlets.py: overload queues there
    socketio.on_namespace(ChatNamespace(push.NAMESPACE, per_socket, slots))
    push.connect_receivers()
    push.connect_live_receivers()  # forum pages: updates list, open thread pages
    push.connect_safety_receivers()  # check-in alerts to the chosen contacts

    returning = ("id", "room_id", "seq", "space_id")
    expiry.register(expiry.Expirer("chat", ChatMessage, returning=returning, order=10))
    retention.register(retention.Kept("chat", ChatMessage, retention.chat_lifetime))
    targets.register_kind("chat", ChatMessage, contribution=True)
    signals.space_created.connect(chat.ensure_default_room)
    signals.account_deleting.connect(chat.forget_author)
    signals.maintenance_due.connect(_purge_stale_sockets)
    # Socket rows left by a previous run (no disconnect came): gone when a server starts;
    # then this process vouches for its open sockets every sockets.HEARTBEAT seconds.
    app.extensions.setdefault("rb_start_hooks", []).append(sockets.clear_at_start)
    app.extensions["rb_start_hooks"].append(_start_keep_alive)
    app.jinja_env.globals["chat_rooms"] = chat.open_rooms


def _trace_events() -> None:
    """``RB_TRACE_EVENTS=1``: each /chat event's arrival, slot and answer on stderr
    (realtime/namespace.py), and python-socketio's warnings (an event it drops because
    the socket is not connected to the namespace says so only as a warning)."""
    trace = logging.getLogger("realtime.trace")
    if not trace.handlers:  # once per process, however many apps it builds
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s pid %(process)d %(name)s %(message)s"))
        trace.addHandler(handler)
    trace.setLevel(logging.DEBUG)
    logging.getLogger("socketio.server").setLevel(logging.WARNING)


def _start_keep_alive() -> None:
    socketio.start_background_task(_keep_alive_forever, current_app._get_current_object())


def _keep_alive_forever(app: Flask) -> None:
    """This process's open /chat sockets are live: one batched touch per round."""
    while True:
        socketio.sleep(sockets.HEARTBEAT)
        try:
            with app.app_context():
                try:
                    keep_alive_once()
                finally:
                    db.session.remove()
        except Exception as error:  # the loop must survive a bad round (type only: no content)
            log.error("socket keep-alive failed: %s", type(error).__name__)


def keep_alive_once() -> int:
    """One round: every /chat socket connected to this process is seen now."""
    held = socketio.server.manager.get_participants(push.NAMESPACE, None)
    return sockets.keep_alive([sid for sid, _eio_sid in held], clock.now())


def _purge_stale_sockets(now: datetime) -> dict[str, int]:
    return {"stale socket records": sockets.purge_stale(now)}
