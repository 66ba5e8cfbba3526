"""Start the real server the way production does (``python -m forum``) on a free port,
seed its database before it starts, and talk to it with a real Socket.IO client.

Tests that use this are marked ``server`` (``pytest -m "not server"`` leaves them out).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import socketio as sio
from flask import Flask

from forum import schema
from forum import sessions
from forum.app import create_app
from forum.extensions import db
from tests.support import base_config

ROOT = Path(__file__).resolve().parent.parent


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
    mode: str = "eventlet",
    extra_env: dict[str, Any] | None = None,
    instance: Path | None = None,
    init_db: bool = True,
) -> LiveServer:
    """Create a fresh database with the CLI, then serve it; wait until it answers.

    ``init_db=False`` serves the database as it is (a restart after a crash: the schema is
    there, and on a busy PostgreSQL the CLI's migration check alone takes many seconds)."""
    instance = instance or Path(tempfile.mkdtemp(prefix="rb-live-"))
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "RB_INSTANCE_PATH": str(instance),
            "RB_ASYNC_MODE": mode,
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
    env.update({k: str(v) for k, v in (extra_env or {}).items()})
    if init_db:
        _init_db(env)
    log_path = instance / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "forum"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
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


@contextmanager
def seeding(instance: Path, **config: Any) -> Iterator[Flask]:
    """An app on the server's database file (built by the migrations), in context, to
    write the test's accounts and spaces with tests/factories.py before the server starts.
    ``SQLALCHEMY_DATABASE_URI=...`` seeds another database (the server then gets the same
    URL as ``DATABASE_URL``)."""
    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'redbrolly.db'}", **config}
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
