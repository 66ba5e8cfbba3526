"""What ``python -m forum``'s own HTTP server does with a connection, under each async
mode (``tests/live.py`` ``BOTH_MODES``): eventlet's ``eventlet.wsgi`` and gevent's
``pywsgi`` are different servers, and the app's promises must hold on both.

- A WebSocket takes its connection over: once it has ended, nothing more on that
  connection is read as HTTP. gevent's pywsgi did not know the socket had been taken
  (simple-websocket writes the 101 itself) and parsed the client's closing frames as the
  next request: an error line per closed socket, and an HTTP answer to whatever the
  client sent next.
- A request the server cannot parse leaves no client address in its output (pywsgi wrote
  ``(from ('<address>', <port>))`` for each; docs/PRIVACY.md: no client address on disk).
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.live import BOTH_MODES
from tests.live import LiveServer
from tests.live import start_server

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]


@pytest.fixture(scope="module", params=BOTH_MODES)
def server(request: pytest.FixtureRequest):
    running = start_server(request.param)
    yield running
    running.stop()


def _frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (masked, as RFC 6455 requires; an all-zero key leaves the payload)."""
    assert len(payload) < 126
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


def _read_until(sock: socket.socket, done, timeout: float = 10) -> bytes:
    sock.settimeout(timeout)
    seen = b""
    deadline = time.monotonic() + timeout
    while not done(seen) and time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            break
        if not chunk:
            break
        seen += chunk
    return seen


def _upgraded(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        + f"Host: 127.0.0.1:{server.port}\r\nOrigin: {server.url}\r\n".encode()
        + b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    opened = _read_until(sock, lambda seen: b'"sid"' in seen)
    assert opened.startswith(b"HTTP/1.1 101"), opened[:200]
    return sock


def test_nothing_after_a_websocket_is_read_as_http(server: LiveServer):
    sock = _upgraded(server)
    with sock:
        sock.sendall(_frame(0x1, b"1"))  # Engine.IO "close": the server ends the socket
        closing = _read_until(sock, lambda seen: b"\x88" in seen)
        assert b"\x88" in closing, closing  # its close frame
        time.sleep(0.5)  # the server's side of the socket has finished by now
        try:
            sock.sendall(_frame(0x8, b"\x03\xe8"))  # our close reply, as a browser sends
            time.sleep(0.3)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            after = _read_until(sock, lambda seen: False, timeout=5)
        except (BrokenPipeError, ConnectionResetError):
            after = b""  # closed under our feet: nothing was read as HTTP either
    assert b"HTTP/1." not in after, after[:300]
    assert "Invalid" not in server.log(), server.log()[-2000:]


def test_a_request_the_server_cannot_parse_leaves_no_client_address(server: LiveServer):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        port = sock.getsockname()[1]
        sock.sendall(b"\x88\x82\x01\x02\x03\x04 not http\r\n\r\n")
        _read_until(sock, lambda seen: False, timeout=3)
    time.sleep(0.3)
    log = server.log()
    assert "Red Brolly on" in log  # positive control: we read the server's output
    assert str(port) not in log, log[-2000:]
