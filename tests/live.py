"""Start the real server the way production does (``python -m forum``) on a free port,
seed its database before it starts, and talk to it with a real Socket.IO client.

Tests that use this are marked ``server`` (``pytest -m "not server"`` leaves them out).
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import engineio
import requests
import socketio as sio
from flask import Flask

from forum import schema
from forum import sessions
from forum.app import create_app
from forum.extensions import db
from tests import backends
from tests.support import TEST_DATABASE_URL
from tests.support import TEST_REDIS_URL
from tests.support import base_config

ROOT = Path(__file__).resolve().parent.parent

# The async mode live servers run when a test names none: the production default
# (forum/config.py), so every live test runs it. ``RB_TEST_ASYNC_MODE=eventlet`` runs
# them all under the other one. Within make test's time, eventlet (still supported) runs
# a representative set through ``BOTH_MODES``: the two-process stack through nginx with
# one kill -9 and its six-kill heavy variant (tests/test_stack_live.py),
# gunicorn's own worker and python -m forum's server (test_server_modes_live.py),
# psycopg's wait (test_green_postgres_live.py), the overload queue
# (test_overload_live.py), no client address in the log (test_privacy.py) and
# crash consistency, 3 kills on SQLite (test_crash_consistency_live.py).
# docs/TESTING.md, "Async modes".
MODE = os.environ.get("RB_TEST_ASYNC_MODE") or "gevent"
BOTH_MODES = ("gevent", "eventlet")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    port: int
    process: subprocess.Popen
    instance: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_server(
    mode: str | None = None,
    extra_env: dict[str, Any] | None = None,
    instance: Path | None = None,
    init_db: bool = True,
    database: str | None = None,
    gunicorn: bool = False,
) -> LiveServer:
    """Create a fresh database with the CLI, then serve it; wait until it answers.

    ``gunicorn=True``: serve it as deploy/ does, ``gunicorn --config
    deploy/gunicorn.conf.py`` (the worker class from ``RB_ASYNC_MODE``; ``WEB_CONCURRENCY``
    in ``extra_env`` for several workers) instead of ``python -m forum``.

    ``database``: a PostgreSQL URL (``live_database``) to serve instead of the instance's
    SQLite file. ``init_db=False`` serves the database as it is (a restart after a crash:
    the schema is there, and on a busy PostgreSQL the CLI's migration check alone takes
    many seconds)."""
    instance = instance or Path(tempfile.mkdtemp(prefix="rb-live-"))
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "RB_INSTANCE_PATH": str(instance),
            "RB_ASYNC_MODE": mode or MODE,
            "RB_PORT": str(port),
            "RB_PUBLIC_ORIGIN": f"http://127.0.0.1:{port}",
            "SECRET_KEY": "live-test-secret",
            "RB_IDENTIFIER_KEY": "live-test-identifier-key",
            "RB_ENV": "production",
            "RB_SWEEP_INTERVAL": "0",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "8",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    if database is not None:
        env["DATABASE_URL"] = database
    env.update({k: str(v) for k, v in (extra_env or {}).items()})
    if env.get("REDIS_URL") and env.get("RB_SOCKETIO_CHANNEL"):
        # A deployment of its own on the shared Redis (its own channel): its own rate-limit
        # counters too. Two test servers (SQLite, then PostgreSQL) seed the same account
        # ids, and the second was refused for the first one's messages.
        env.setdefault("RB_LIMIT_KEY_PREFIX", f"rb-{env['RB_SOCKETIO_CHANNEL']}")
    if init_db:
        _init_db(env)
    log_path = instance / "server.log"
    command = [sys.executable, "-m", "forum"]
    if gunicorn:
        env["RB_BIND"] = f"127.0.0.1:{port}"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
        ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", port, process, instance, log_path, env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited:\n" + server.log())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("server did not start:\n" + server.log())


def _init_db(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "forum", "init-db"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )


def live_database(backend: str) -> str | None:
    """Where a live server on ``backend`` keeps its data: None on SQLite (the file in its
    instance folder), else the URL of a new migrated PostgreSQL database of its own
    (tests/backends.py; dropped when the run ends). Give it to ``seeding`` and
    ``start_server`` as ``database``."""
    if backend == "sqlite":
        return None
    return backends.postgres().fresh()


@contextmanager
def seeding(instance: Path, database: str | None = None, **config: Any) -> Iterator[Flask]:
    """An app on the server's database (built by the migrations), in context, to write
    the test's accounts and spaces with tests/factories.py before the server starts.
    ``database``: the PostgreSQL URL the server will get (``live_database``), else the
    instance's SQLite file. ``SQLALCHEMY_DATABASE_URI=...`` seeds any other database (the
    server then gets the same URL as ``DATABASE_URL``)."""
    sqlite_file = f"sqlite:///{instance / 'redbrolly.db'}"
    config = {"SQLALCHEMY_DATABASE_URI": database or sqlite_file, **config}
    # The vault the server will open (forum/sealed.py default_path): beside its SQLite file,
    # else instance/vault.db. Seeding into another vault leaves the server rows it cannot open.
    sqlite = config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    vault = instance / ("redbrolly.vault.db" if sqlite else "vault.db")
    config.setdefault("RB_VAULT_PATH", str(vault))
    app = create_app(base_config(instance, **config))
    with app.app_context():
        schema.upgrade_schema()
        yield app
        db.session.remove()
        db.engine.dispose()


@dataclass
class Person:
    """A real Socket.IO client on /chat, and the ``message`` and ``closed`` events it heard."""

    client: sio.Client
    heard: list = field(default_factory=list)
    closed: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, event: str, data: dict) -> dict:
        return self.client.call(event, data, namespace="/chat", timeout=15)

    def wait_for(self, n: int, timeout: float = 10) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.heard) >= n:
                    return list(self.heard)
            time.sleep(0.05)
        return list(self.heard)


def connect(
    server: LiveServer, token: str | None, origin: str | None = None, transport: str = "websocket"
) -> Person:
    """Connect as a browser would, with its Origin and the session cookie: over WebSocket,
    or over long-polling only (``transport="polling"``, as behind a proxy without upgrade)."""
    # websocket-client writes the Origin header itself: tell it which, never add a second one.
    client = sio.Client(
        reconnection=False, websocket_extra_options={"origin": origin or server.url}
    )
    person = Person(client)

    @client.on("message", namespace="/chat")
    def _message(data: dict) -> None:
        with person.lock:
            person.heard.append(data)

    @client.on("closed", namespace="/chat")
    def _closed(data: dict) -> None:
        person.closed.append(data)

    headers = {}
    if token:
        headers["Cookie"] = f"{sessions.COOKIE_NAME}={token}"
    if transport == "polling":  # plain HTTP requests: the Origin goes in the headers
        headers["Origin"] = origin or server.url
    client.connect(
        server.url, headers=headers, namespaces=["/chat"], transports=[transport], wait_timeout=10
    )
    return person


# --- A client that behaves like static/js/chat.js ----------------------------------------

_TRACE = os.environ.get("RB_TRACE_BOTS")  # a file: each bot's connects and joins (issue #14)
_trace_lock = threading.Lock()


def _stamp() -> str:
    return time.strftime("%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}"


def _trace(name: str, text: str) -> None:
    if _TRACE:
        with _trace_lock, open(_TRACE, "a") as out:
            out.write(f"{_stamp()} {name} {text}\n")


class _InOrderEngineIO(engineio.Client):
    """python-engineio's threaded client hands every incoming packet to a new thread, so
    two events reach their handlers in either order: a "removed" could be handled
    before the "message" it removes, which then stays on the screen. A browser handles
    a socket's events in arrival order, and the server sends them in order; this does
    too, on the read loop's own thread. A Socket.IO DISCONNECT (packet type "1") still
    gets a thread: its handler joins the read loop, which cannot join itself."""

    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "message" and not (isinstance(args[0], str) and args[0][:1] == "1"):
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class _InOrderClient(sio.Client):
    """Also patient like a browser, and never "connected" without a connection:

    - python-socketio's reconnect loop calls ``connect()`` without ``wait_timeout``, so
      each attempt waits 1 s for the namespace and then hangs up. The namespace's
      connect handler reads the session and writes the socket's row; on a process that
      has just taken over a killed one's clients (each resending what it had pending)
      that waits for a database connection, often past 1 s, and every give-up adds the
      same work again. socket.io-client, which chat.js uses, waits 20 s (its ``timeout``).
    - If the transport drops between the namespace's CONNECT and ``connect()`` marking
      the client connected, the drop is handled while not yet connected and the attempt
      still "succeeds": connected, no transport, no reconnect to come. Found here, that
      attempt fails instead, and the reconnect loop goes on."""

    CONNECT_WAIT = 20.0

    def _engineio_client_class(self) -> type[engineio.Client]:
        return _InOrderEngineIO

    def connect(self, *args: Any, wait_timeout: float = CONNECT_WAIT, **kwargs: Any) -> None:
        super().connect(*args, wait_timeout=wait_timeout, **kwargs)
        if self.eio.state != "connected":
            self.connected = False
            self.namespaces = {}
            raise sio.exceptions.ConnectionError("the transport dropped while connecting")


class ChatClient:
    """A python-socketio client on /chat that keeps chat.js's promises, for tests that
    count messages: a random client id per message; unacknowledged sends retried with
    the same id after every (re)join, after a server error (growing waits) and after
    ``ACK_WAIT`` without an answer if sent on an earlier connection; repeats dropped by
    seq; gaps in seq fetched after ``GAP_WAIT`` seconds (``history`` with ``after_seq``;
    the answer's ``through`` closes gaps of seqs that no longer exist); every (re)join
    resuming after ``upto``, the highest seq with nothing missing below it; a join the
    server could not answer (5xx, 429) asked again after a growing wait. Each (re)connect
    asks for the room in its handshake (``auth``, read at each attempt) and takes the
    server's ``joined`` as the join's answer, or sends ``join`` if none came before
    ``connect``. It reconnects by itself, as the browser client does, and handles a
    socket's events in the order they came (``_InOrderClient``).

    ``naive=True`` is the chat.js of before the fix, kept to measure what it lost: it
    resumes after the highest seq seen and never fills a gap.

    Everything it saw is kept for the test to count: ``shown`` (seq -> message on the
    screen now), ``drawn`` (how often each seq was put on the screen: more than once only
    when a moderator restored it after a "removed"), ``deliveries`` (how often each seq
    arrived, repeats included), ``acked`` (client id -> seq), ``pending`` (sent, not yet
    acknowledged).
    """

    GAP_WAIT = 1.5
    ACK_WAIT = 10.0  # no answer this long: send again if the connection changed meanwhile
    RETRY = 2.0  # after a server error: 2 s, 4 s, 8 s … at most RETRY_MAX
    RETRY_MAX = 30.0

    def __init__(
        self,
        url: str,
        token: str,
        room_id: int,
        origin: str,
        *,
        transports: tuple[str, ...] = ("websocket",),
        naive: bool = False,
        name: str = "",
        ca: str | None = None,
    ) -> None:
        self.url, self.token, self.room_id, self.origin = url, token, room_id, origin
        self.transports, self.naive, self.name = list(transports), naive, name
        self.lock = threading.RLock()
        self.upto = 0
        self.above: set[int] = set()
        self.shown: dict[int, dict] = {}
        self.drawn: dict[int, int] = {}
        self.gone: set[int] = set()  # seqs a "removed" took off (chat.js's `gone`)
        self.deliveries: dict[int, int] = {}
        self.pending: dict[str, str] = {}
        self.tries: dict[str, int] = {}
        self.server_errors = 0
        self.late = 0  # live messages that came after a higher seq had (across processes)
        self._highest_live = 0
        self._retries: dict[str, threading.Timer] = {}
        self.acked: dict[str, int] = {}
        self.refused: list[dict] = []
        self.removed: list[int] = []
        self.presence: list[dict] = []
        self.events: list[tuple[str, Any]] = []
        self.joins = 0
        self.connections = 0
        self.joined_on = 0  # the connection (by ``connections``) the last good join went on
        # The last connects, joins and disconnects, always kept: a failing test prints
        # them in ``state()`` (RB_TRACE_BOTS writes every one to a file as well).
        self.recent: deque[str] = deque(maxlen=24)
        self._sent_on: dict[str, int] = {}  # client id -> the connection it last went out on
        self.disconnects = 0
        self.joined = threading.Event()
        self._gap_timer: threading.Timer | None = None
        self._join_timer: threading.Timer | None = None
        self._join_tries = 0
        self._filling = False
        self._ready = False  # "connect" handled for the connection now open
        self._early: dict | None = None  # its "joined", heard before "connect"
        # The session cookie lives in the HTTP session's jar, as in a browser: every polling
        # request carries it (nginx routes by it), and the websocket handshake too. (A
        # Cookie header given to connect() is sent with the first request only, and
        # python-engineio deletes it from the caller's dict, so a reconnect has none.)
        http = requests.Session()
        http.trust_env = False  # REQUESTS_CA_BUNDLE would replace ``verify``
        http.verify = ca or True  # ``ca``: the stack's own certificate, trusted for the run
        http.cookies.set(sessions.COOKIE_NAME, token)
        if self.transports == ["polling"]:
            http.headers["Origin"] = origin  # websocket-client writes its own for websockets
        self.client = _InOrderClient(
            reconnection=True,
            reconnection_delay=0.5,
            reconnection_delay_max=2,
            randomization_factor=0.5,
            http_session=http,
            websocket_extra_options={"origin": origin},
        )
        ns = "/chat"
        self.client.on("connect", self._on_connect, namespace=ns)
        self.client.on("disconnect", self._on_disconnect, namespace=ns)
        self.client.on("joined", self._on_joined, namespace=ns)
        self.client.on("connect_error", self._on_connect_error, namespace=ns)
        self.client.on("message", self._on_message, namespace=ns)
        self.client.on("removed", self._on_removed, namespace=ns)
        self.client.on("presence", self._on_presence, namespace=ns)
        for event in ("new_reply", "update", "posts_removed", "thread_gone", "closed"):
            self.client.on(event, functools.partial(self._on_event, event), namespace=ns)

    # -- connection

    def connect(self, timeout: float = 20) -> ChatClient:
        self.client.connect(
            self.url,
            namespaces=["/chat"],
            transports=self.transports,
            wait_timeout=timeout,
            auth=self._auth,
        )
        if not self.joined.wait(timeout):
            raise RuntimeError(f"{self.name} never joined the room")
        return self

    def close(self) -> None:
        with self.lock:
            for timer in (self._gap_timer, self._join_timer):
                if timer is not None:
                    timer.cancel()
            for timer in self._retries.values():
                timer.cancel()
            self._retries.clear()
        self.client.disconnect()

    @property
    def eio_sid(self) -> str | None:
        return self.client.eio.sid

    def _emit(self, event: str, data: dict, callback: Callable[[Any], None]) -> bool:
        try:
            self.client.emit(event, data, namespace="/chat", callback=callback)
            return True
        except sio.exceptions.SocketIOError:  # not connected: the next join catches up
            return False

    def _auth(self) -> dict:
        """The handshake's: the room, resuming after ``upto`` (chat.js's ``auth``)."""
        with self.lock:
            return {"room_id": self.room_id, "after_seq": self.upto}

    def _on_joined(self, ack: dict) -> None:
        """The answer to the join asked for in the handshake: it comes before "connect"
        (the server writes it before the connect packet), as in chat.js."""
        with self.lock:
            if not self._ready:
                self._early = ack
                return
            connection = self.connections
        self._joined(self._sid(), connection, ack)

    def _on_connect(self) -> None:
        with self.lock:
            self.connections += 1
            self._filling = False
            self._ready = True
            if self._join_timer is not None:  # the old connection's
                self._join_timer.cancel()
                self._join_timer = None
            early, self._early = self._early, None
            connection = self.connections
        self._note(f"connected sid={self._sid()} joined={early is not None}")
        if early is not None:
            self._joined(self._sid(), connection, early)
        else:
            self._join()  # a server that does not join at connect

    def _on_disconnect(self, *reason: Any) -> None:
        with self.lock:
            self.disconnects += 1
            self._ready = False
            self._early = None
        self._note(f"disconnected {reason}")

    def _on_connect_error(self, *reason: Any) -> None:
        self._note(f"connect error {reason}")  # the library tries again itself

    def _note(self, text: str) -> None:
        self.recent.append(f"{_stamp()} {text}")
        _trace(self.name, text)

    def _sid(self) -> str | None:
        return self.client.get_sid("/chat")

    def _join_later(self, wait: float) -> None:
        if self._join_timer is not None:
            self._join_timer.cancel()
        self._join_timer = threading.Timer(wait, self._join_again)
        self._join_timer.daemon = True
        self._join_timer.start()

    def _join_again(self) -> None:
        with self.lock:
            self._join_timer = None
        if self.client.connected:  # offline: the reconnect joins anyway
            self._join()

    def _join(self) -> None:
        with self.lock:
            if self._join_timer is not None:
                self._join_timer.cancel()
                self._join_timer = None
            after, connection = self.upto, self.connections
        sid = self._sid()
        data = {"room_id": self.room_id, "after_seq": after}
        sent = self._emit("join", data, functools.partial(self._joined, sid, connection))
        self._note(f"join sid={sid} after={after} sent={sent}")

    def _joined(self, sid: str | None, connection: int, ack: dict) -> None:
        answer = ack or {}
        self._note(f"joined sid={sid} ok={answer.get('ok')} status={answer.get('status')}")
        if not ack or not ack.get("ok"):
            with self.lock:
                self.refused.append(ack)
                # Busy or failing (5xx, 429): ask again after a growing wait; a refusal stands.
                if not ack or ack.get("status", 0) >= 500 or ack.get("status") == 429:
                    wait = min(self.RETRY_MAX, self.RETRY * 2**self._join_tries)
                    wait = max(wait, (ack or {}).get("retry_after") or 0)
                    self._join_tries += 1
                    self._join_later(wait)
            return
        with self.lock:
            self._join_tries = 0
            self.joins += 1
            self.joined_on = connection
            for message in ack["messages"]:
                self._receive(message)
            if not self.naive:
                self._settle(ack.get("through"))
            if ack.get("presence"):
                self.presence.append(ack["presence"])
            if ack.get("more"):
                self._join()
                return
            again = dict(self.pending)
        self.joined.set()
        for client_id, body in again.items():
            self._send(client_id, body)

    # -- sending

    def send(self, body: str) -> str:
        client_id = uuid.uuid4().hex
        with self.lock:
            self.pending[client_id] = body
        self._send(client_id, body)
        return client_id

    def _send(self, client_id: str, body: str) -> None:
        with self.lock:
            self.tries[client_id] = self.tries.get(client_id, -1) + 1
            self._sent_on[client_id] = self.connections
            self._retry_in(client_id, self.ACK_WAIT)
        data = {"room_id": self.room_id, "client_id": client_id, "body": body}
        self._emit("send", data, functools.partial(self._sent, client_id))

    def _retry_in(self, client_id: str, wait: float, again: bool = False) -> None:
        old = self._retries.pop(client_id, None)
        if old is not None:
            old.cancel()
        timer = threading.Timer(wait, self._retry, args=(client_id, wait, again))
        timer.daemon = True
        self._retries[client_id] = timer
        timer.start()

    def _retry(self, client_id: str, wait: float, again: bool) -> None:
        """``again``: the server said to (5xx). Otherwise only a send that went out on an
        earlier connection is sent again (its answer can no longer come), as chat.js does."""
        with self.lock:
            self._retries.pop(client_id, None)
            body = self.pending.get(client_id)
            if body is None or not self.client.connected:
                return
            if not again and self._sent_on.get(client_id) == self.connections:
                self._retry_in(client_id, wait)
                return
        self._send(client_id, body)

    def _settled(self, client_id: str) -> None:
        self.pending.pop(client_id, None)
        timer = self._retries.pop(client_id, None)
        if timer is not None:
            timer.cancel()

    def _sent(self, client_id: str, ack: dict) -> None:
        with self.lock:
            if not ack or client_id not in self.pending:
                return
            if ack.get("ok") and "message" in ack:
                self._settled(client_id)
                self.acked[client_id] = ack["seq"]
                self._receive({**ack["message"], "mine": True})
            elif ack.get("status", 0) >= 500:  # "nothing you sent was lost": ours to send again
                self.server_errors += 1
                wait = min(self.RETRY_MAX, self.RETRY * 2 ** self.tries[client_id])
                self._retry_in(client_id, wait, again=True)
            else:
                self._settled(client_id)
                self.refused.append(ack)

    # -- receiving

    def _on_message(self, message: dict) -> None:
        if message.get("room_id") == self.room_id:
            with self.lock:
                seq = message.get("seq")
                if isinstance(seq, int):
                    self.late += seq < self._highest_live
                    self._highest_live = max(self._highest_live, seq)
                self._receive(message)

    def _on_removed(self, data: dict) -> None:
        if data.get("room_id") == self.room_id:
            with self.lock:
                for seq in data.get("seqs", []):
                    self.shown.pop(seq, None)
                    self.removed.append(seq)
                    self.gone.add(seq)  # a late copy (another process's) stays out
                    if not self.naive and seq > self.upto:
                        self.above.add(seq)  # it existed and is settled: gone
                if not self.naive:
                    self._settle(self.upto)

    def _on_presence(self, data: dict) -> None:
        with self.lock:
            self.presence.append(data)

    def _on_event(self, name: str, data: Any) -> None:
        with self.lock:
            self.events.append((name, data))

    def _receive(self, message: dict) -> None:
        seq = message.get("seq")
        if not isinstance(seq, int):
            return
        self.deliveries[seq] = self.deliveries.get(seq, 0) + 1
        if message.get("restored") is True:  # a moderator kept it: back on the screen
            self.gone.discard(seq)
        if seq not in self.shown and seq not in self.gone:  # drawn once per seq
            self.shown[seq] = message
            self.drawn[seq] = self.drawn.get(seq, 0) + 1
        if self.naive:
            self.upto = max(self.upto, seq)
            return
        if seq > self.upto:
            self.above.add(seq)
        self._settle(self.upto)

    def _settle(self, through: object) -> None:
        if isinstance(through, int) and through > self.upto:
            self.above = {s for s in self.above if s > through}
            self.upto = through
        while self.upto + 1 in self.above:
            self.above.discard(self.upto + 1)
            self.upto += 1
        if self.above and self._gap_timer is None and not self._filling:
            self._gap_timer = threading.Timer(self.GAP_WAIT, self._fill)
            self._gap_timer.daemon = True
            self._gap_timer.start()

    def _fill(self) -> None:
        with self.lock:
            self._gap_timer = None
            if self._filling or not self.above or not self.client.connected:
                return
            self._filling = True
            after = self.upto
        sent = self._emit("history", {"room_id": self.room_id, "after_seq": after}, self._filled)
        if not sent:
            with self.lock:
                self._filling = False

    def _filled(self, ack: dict) -> None:
        with self.lock:
            self._filling = False
            if ack and ack.get("ok"):
                for message in ack["messages"]:
                    self._receive(message)
                self._settle(ack.get("through"))
                if ack.get("more"):
                    threading.Thread(target=self._fill, daemon=True).start()
                    return
            self._settle(self.upto)

    # -- for the test

    def rejoined_since(self, connections: int) -> bool:
        """Connected again after ``connections`` and joined on the connection it has now
        (not on one that was answered just before it dropped)."""
        with self.lock:
            return (
                self.client.connected
                and self.connections > connections
                and self.joined_on == self.connections
            )

    def settled(self, last_seq: int) -> bool:
        """Nothing pending, nothing missing up to ``last_seq``."""
        with self.lock:
            return not self.pending and self.upto >= last_seq and not self.above

    def state(self) -> dict:
        with self.lock:
            return {
                "name": self.name,
                "connected": self.client.connected,
                "upto": self.upto,
                "above": sorted(self.above)[:10],
                "pending": len(self.pending),
                "acked": len(self.acked),
                "shown": len(self.shown),
                "joins": self.joins,
                "disconnects": self.disconnects,
                "refused": self.refused[-3:],
                "server_errors": self.server_errors,
                "recent": list(self.recent)[-8:],
            }

    def call(self, event: str, data: dict, timeout: float = 15) -> dict:
        return self.client.call(event, data, namespace="/chat", timeout=timeout)


# --- The shipped stack: nginx (deploy/nginx) before two processes, PostgreSQL, Redis ------

NGINX = "/usr/sbin/nginx"
SITE_HOST = "localhost"  # stands in for brolly.example: clients send it as SNI and Host


def shipped_nginx(folder: Path, ports: dict[str, int]) -> Path:
    """Write deploy/nginx's two files into ``folder`` with only ports, paths and the host
    name replaced (the test then proves the files we ship), plus one file of temp paths
    (Debian's build keeps them under /var/lib/nginx, which a non-root nginx cannot
    write). Each replacement must match, so a change to the shipped files that the test
    no longer covers fails here, loudly. Returns the main file."""
    deploy = ROOT / "deploy" / "nginx"
    main = _replace(
        (deploy / "nginx.conf").read_text(),
        [
            ("pid /run/nginx.pid;", f"pid {folder}/nginx.pid;"),
            ("/var/log/nginx/error.log", f"{folder}/error.log"),
            ("include /etc/nginx/conf.d/*.conf;", f"include {folder}/conf.d/*.conf;"),
        ],
    )
    site = _replace(
        (deploy / "redbrolly.conf").read_text(),
        [
            ("/etc/letsencrypt/live/brolly.example/fullchain.pem", f"{folder}/cert.pem"),
            ("/etc/letsencrypt/live/brolly.example/privkey.pem", f"{folder}/key.pem"),
            ("brolly.example", SITE_HOST),
            ("/var/log/nginx/error.log", f"{folder}/error.log"),
            ("/srv/redbrolly/static/", f"{ROOT}/static/"),
            ("/var/www/acme", f"{folder}/acme"),
            # The scale-out lines the file documents: two processes, one per port.
            ("server 127.0.0.1:8000 ", f"server 127.0.0.1:{ports['a']} "),
            ("# server 127.0.0.1:8001 ", f"server 127.0.0.1:{ports['b']} "),
            ("127.0.0.1:8100", f"127.0.0.1:{ports['onion_app']}"),
            ("listen 127.0.0.1:8081;", f"listen 127.0.0.1:{ports['onion']};"),
            (re.compile(r"(listen (?:\[::\]:)?)80\b"), rf"\g<1>{ports['http']}"),
            (re.compile(r"(listen (?:\[::\]:)?)443\b"), rf"\g<1>{ports['https']}"),
        ],
    )
    (folder / "conf.d").mkdir()
    (folder / "acme").mkdir()
    (folder / "conf.d" / "redbrolly.conf").write_text(site)
    temp = "".join(
        f"{kind}_temp_path {folder}/temp/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (folder / "conf.d" / "00-temp-paths.conf").write_text(temp)
    (folder / "nginx.conf").write_text(main)
    return folder / "nginx.conf"


def _replace(text: str, replacements: list[tuple[Any, str]]) -> str:
    for old, new in replacements:
        if isinstance(old, re.Pattern):
            text, n = old.subn(new, text)
        else:
            n = text.count(old)
            text = text.replace(old, new)
        assert n, f"the shipped nginx file no longer has {old!r}"
    return text


def _self_signed(folder: Path) -> None:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", f"/CN={SITE_HOST}",
            "-addext", f"subjectAltName=DNS:{SITE_HOST}",
            "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def _as_nobody() -> list[str]:
    """nginx runs as an ordinary user: as root (CI), drop to nobody first."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


@dataclass
class Stack:
    """nginx with the shipped site file, two ``python -m forum`` (``mode``) behind it, one
    PostgreSQL database and one Redis. Clients go through ``url`` (https, self-signed)."""

    url: str
    folder: Path
    database: str
    database_url: str
    env: dict[str, str]
    ports: dict[str, int]
    root: Path = ROOT
    nginx: subprocess.Popen | None = None
    servers: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def ca(self) -> str:
        """The self-signed certificate nginx serves: clients trust it, and nothing else."""
        return str(self.folder / "cert.pem")

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def start(self, name: str) -> None:
        """Start process ``name`` ("a" or "b") on its port; wait until /healthz says ok."""
        env = {**self.env, "RB_PORT": str(self.ports[name])}
        with open(self.folder / f"{name}.log", "ab") as log:
            self.servers[name] = subprocess.Popen(
                [sys.executable, "-m", "forum"],
                env=env, cwd=self.root, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self._wait(f"http://127.0.0.1:{self.ports[name]}/healthz", self.servers[name], name)

    def kill(self, name: str) -> None:
        """kill -9: no goodbye to clients, no flush, no cleanup."""
        process = self.servers.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def where(self, client: ChatClient) -> str:
        """Which process holds this client's connection (it must have one)."""
        assert client.eio_sid, f"{client.name} is not connected: {client.state()}"
        holder = self.holder(client)
        assert holder, f"no process holds {client.name}: {client.state()}"
        return holder

    def holder(self, client: ChatClient) -> str | None:
        """Which process holds this client's connection, None if none does now (it is
        between connections). Asked of each process directly (not through nginx), by
        its Engine.IO session id: the process that knows it refuses the request for
        another reason than "Invalid session". The request is a plain GET that asks
        for the websocket transport without an upgrade, which Engine.IO refuses for a
        known session without touching it."""
        sid = client.eio_sid
        if not sid:
            return None
        holders = []
        for name in self.servers:
            answer = requests.get(
                f"http://127.0.0.1:{self.ports[name]}/socket.io/",
                params={"EIO": "4", "transport": "websocket", "sid": sid},
                timeout=10,
            )
            if "Invalid session" not in answer.text:
                holders.append(name)
        assert len(holders) <= 1, holders
        return holders[0] if holders else None

    def _wait(self, url: str, process: subprocess.Popen | None, name: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{name} exited:\n" + self.log(name))
            try:
                answer = requests.get(url, timeout=2, verify=self.ca if "https" in url else True)
                # An older checkout (``root``, for a measurement) may have no /healthz.
                if answer.status_code == 200 or (self.root != ROOT and answer.status_code < 500):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer {url}:\n" + self.log(name))

    def stop(self) -> None:
        for name in list(self.servers):
            process = self.servers.pop(name)
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self.nginx is not None:
            self.nginx.terminate()
            self.nginx.wait(timeout=10)
        _drop_database(self.database)
        if not os.environ.get("RB_KEEP_STACK"):  # set it to read the logs after a failure
            shutil.rmtree(self.folder, ignore_errors=True)


def start_nginx(folder: Path, ports: dict[str, int]) -> subprocess.Popen:
    """nginx with the shipped files (``shipped_nginx``) and a self-signed certificate for
    ``SITE_HOST`` in ``folder``, as nobody when run as root; the caller stops it. Its
    https port is ``ports["https"]``, its two app servers ``ports["a"]`` and ``ports["b"]``.
    """
    _self_signed(folder)
    conf = shipped_nginx(folder, ports)
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / "temp" / kind).mkdir(parents=True)
    nobody = _as_nobody()
    if nobody:
        shutil.chown(folder, "nobody", "nogroup")
        for path in folder.rglob("*"):
            if "instance" not in path.parts:
                shutil.chown(path, "nobody", "nogroup")
    command = [
        *nobody,
        NGINX,
        "-p",
        str(folder),
        "-c",
        str(conf),
        "-e",
        str(folder / "nginx-start.log"),
    ]
    test = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert test.returncode == 0, test.stderr
    with open(folder / "nginx.log", "ab") as log:
        return subprocess.Popen(
            [*command, "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT
        )


def _pg_admin():
    import psycopg

    url = TEST_DATABASE_URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True, connect_timeout=3)


def _drop_database(name: str) -> None:
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_stack(
    seed: Callable[[], Any],
    extra_env: dict[str, Any] | None = None,
    root: Path = ROOT,
    mode: str | None = None,
) -> tuple[Stack, Any]:
    """Build the whole stack: a fresh PostgreSQL database (unique name) migrated by
    ``flask init-db``, ``seed()`` run in an app context on it (accounts, sessions, rooms
    through tests/factories.py), two server processes with Redis as their message queue
    on a channel of their own (other test runs share the Redis), then nginx as nobody.
    The caller must ``stop()`` it (drops the database). ``root``: the checkout whose
    server runs (another one measures an older version against the same test)."""
    folder = Path(tempfile.mkdtemp(prefix="rb-stack-"))
    ports = {k: free_port() for k in ("a", "b", "http", "https", "onion", "onion_app")}
    url = f"https://{SITE_HOST}:{ports['https']}"
    database = f"rb_stack_{secrets.token_hex(6)}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    database_url = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{database}"
    env = dict(os.environ)
    for name in ("RB_TEST_CHAT_RETENTION_SECONDS",):
        env.pop(name, None)
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": TEST_REDIS_URL,
            "RB_SOCKETIO_CHANNEL": f"rb-stack-{secrets.token_hex(6)}",
            "RB_PUBLIC_ORIGIN": url,
            "RB_ADDRESS_HEADER": "X-RB-Client-Address",
            "RB_INSTANCE_PATH": str(folder / "instance"),
            "RB_ASYNC_MODE": mode or MODE,
            "RB_HOST": "127.0.0.1",
            "RB_ENV": "production",
            "SECRET_KEY": "stack-test-secret-" + secrets.token_hex(8),
            "RB_IDENTIFIER_KEY": "stack-test-identifier-key",
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "8",
            # Rate-limit counters live in the shared Redis; wide limits keep other runs'
            # counters (same account ids, same key prefix) from tripping ours.
            "RB_LIMIT_CHAT_NEW": "10000 per 10 seconds",
            "RB_LIMIT_CHAT": "10000 per 10 seconds",
            "RB_LIMIT_CHAT_TRUSTED": "10000 per 10 seconds",
            # The kill tests' clients are bots sending 2-10 messages a second each, and
            # after a kill a client resends everything still pending at once (as chat.js
            # does): tens of events, past the per-socket bucket meant for people
            # (realtime/throttle.py, tested on its own in test_socket_throttle and
            # test_socket_abuse_live). Its 429 would read here as a lost message.
            "RB_SOCKET_BURST": "100000",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({k: str(v) for k, v in (extra_env or {}).items()})
    stack = Stack(url, folder, database, database_url, env, ports, root)
    try:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "forum", "init-db"],
            env=env, cwd=root, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        # The seed writes sealed text under the vault's keys: the vault the servers open
        # (forum/sealed.py default_path: instance/vault.db beside a PostgreSQL database),
        # not base_config's test vault, or the servers read every seeded text as erased.
        app = create_app(
            base_config(
                folder,
                SQLALCHEMY_DATABASE_URI=database_url,
                RB_PUBLIC_ORIGIN=url,
                RB_INSTANCE_PATH=env["RB_INSTANCE_PATH"],
                RB_VAULT_PATH=str(Path(env["RB_INSTANCE_PATH"]) / "vault.db"),
            )
        )
        with app.app_context():
            seeded = seed()
            db.session.remove()
            db.engine.dispose()
        stack.start("a")
        stack.start("b")
        stack.nginx = start_nginx(folder, ports)
        stack._wait(f"{url}/healthz", stack.nginx, "nginx")
    except BaseException:
        stack.stop()
        raise
    return stack, seeded
