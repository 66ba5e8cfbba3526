"""The shipped nginx files (deploy/nginx) send websockets to the other app process after
one died, however often the processes took turns dying.

The app processes here are stand-ins: a listening socket that answers every websocket
handshake with its 101 and holds the connection open, as a Socket.IO websocket stays open
while its page does. "Killed" closes the listener and every connection (a SIGKILL's
effect as nginx sees it: refused at once on loopback).

With nginx's defaults (``max_fails=1 fail_timeout=10s``), a process that died once stayed
"failed" in nginx after it came back: a request to it resets that only when it *ends*,
and a websocket ends when its page closes. When the other process then died, its chat
clients got "502 no live upstreams", one handshake let through per 10 s per nginx
worker, so six clients took 40-60 s to rejoin (tests/test_stack_live.py's six kills
failed under gevent once in three CI runs this way). ``max_fails=0`` lets nginx try the
hashed process and go on to the next when it refuses. Costs about 15 s (the wait past
nginx's default ``fail_timeout``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.live import NGINX
from tests.live import SITE_HOST
from tests.live import free_port
from tests.live import start_nginx
from tests.support import needs_service

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]

FAIL_TIMEOUT = 10  # nginx's default: how long a server marked failed gets no request


class StandIn:
    """A process behind nginx that accepts websocket handshakes and holds them open."""

    def __init__(self, name: str, port: int) -> None:
        self.name, self.port = name, port
        self.listener: socket.socket | None = None
        self.held: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed: killed
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = connection.recv(4096)
            if not chunk:
                connection.close()
                return
            request += chunk
        connection.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nX-Stand-In: " + self.name.encode() + b"\r\n\r\n"
        )
        with self.lock:
            self.held.append(connection)

    def kill(self) -> None:
        assert self.listener is not None
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept: close alone does not
        self.listener.close()
        self.listener = None
        with self.lock:
            for connection in self.held:
                connection.close()
            self.held.clear()


def handshake(port: int, ca: str, token: str) -> tuple[int, str, ssl.SSLSocket]:
    """A websocket handshake through nginx with this session cookie: (status, the
    stand-in that answered or "", the open connection, for the caller to close)."""
    context = ssl.create_default_context(cafile=ca)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    tls = context.wrap_socket(raw, server_hostname=SITE_HOST)
    tls.sendall(
        (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: {SITE_HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Cookie: rb_session={token}\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = tls.recv(4096)
        if not chunk:
            break
        head += chunk
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    answered = next(
        (line.split(":", 1)[1].strip() for line in lines if line.startswith("X-Stand-In:")), ""
    )
    return status, answered, tls


def tokens_for(port: int, ca: str, name: str, count: int) -> list[str]:
    """``count`` session tokens that nginx's hash sends to the stand-in ``name``."""
    found: list[str] = []
    for _ in range(200):
        token = secrets.token_urlsafe(32)
        status, answered, connection = handshake(port, ca, token)
        connection.close()
        assert status == 101, status
        if answered == name:
            found.append(token)
            if len(found) == count:
                return found
    raise AssertionError(f"nginx hashed too few tokens to {name}")


@pytest.fixture
def nginx_before_two():
    needs_service("nginx", os.path.exists(NGINX), NGINX)
    folder = Path(tempfile.mkdtemp(prefix="rb-nginx-"))
    ports = {k: free_port() for k in ("a", "b", "http", "https", "onion", "onion_app")}
    stand_ins = {name: StandIn(name, ports[name]) for name in ("a", "b")}
    for stand_in in stand_ins.values():
        stand_in.start()
    nginx = start_nginx(folder, ports)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", ports["https"]), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, (folder / "nginx.log").read_text()
                time.sleep(0.1)
        yield ports["https"], str(folder / "cert.pem"), stand_ins
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        for stand_in in stand_ins.values():
            if stand_in.listener is not None:
                stand_in.kill()
        shutil.rmtree(folder, ignore_errors=True)


def test_websockets_reach_the_process_that_came_back_when_the_other_dies(nginx_before_two):
    port, ca, stand_ins = nginx_before_two
    to_a = tokens_for(port, ca, "a", 12)
    to_b = tokens_for(port, ca, "b", 6)
    # A dies; its clients come back through nginx, which sends them to B (once each nginx
    # worker tried A and found it refusing).
    stand_ins["a"].kill()
    moved = []
    for token in to_a:
        status, answered, connection = handshake(port, ca, token)
        moved.append((status, answered))
        connection.close()
    assert moved == [(101, "b")] * len(to_a)
    # A is back; nobody reconnects to it (everyone's websocket is open on B). Past
    # nginx's default fail_timeout, B dies: all its clients must reach A at once.
    stand_ins["a"].start()
    time.sleep(FAIL_TIMEOUT + 1)
    stand_ins["b"].kill()
    answers, held = [], []
    try:
        for token in to_b:
            status, answered, connection = handshake(port, ca, token)
            answers.append((status, answered))
            held.append(connection)  # open, as a chat page's websocket stays
    finally:
        for connection in held:
            connection.close()
    assert answers == [(101, "a")] * len(to_b)
