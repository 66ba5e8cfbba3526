"""The HTTP servers themselves, under each async mode (``tests/live.py`` ``BOTH_MODES``):
``python -m forum`` (eventlet's ``eventlet.wsgi``, gevent's ``pywsgi``) and gunicorn with
deploy/gunicorn.conf.py and two workers (its eventlet or gevent worker, which patches the
process before ``forum.wsgi`` builds the app), each serving the app's promises.

- A WebSocket takes its connection over: once it has ended, nothing more on that
  connection is read as HTTP. gevent's pywsgi did not know the socket had been taken
  (simple-websocket writes the 101 itself) and parsed the client's closing frames as the
  next request: an error line per closed socket, and an HTTP answer to whatever the
  client sent next.
- A request the server cannot parse leaves no client address in its output (pywsgi wrote
  ``(from ('<address>', <port>))`` for each; docs/PRIVACY.md: no client address on disk).
- Under gunicorn, as deployed: the worker class the mode names; chat between two
  members through the Redis message queue; a sign-up (argon2 on a real thread).
"""

from __future__ import annotations

import secrets
import socket
import time
import uuid
from datetime import timedelta

import pytest
import requests

from forum import sessions
from forum.extensions import db
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_room
from tests.factories import make_space
from tests.live import BOTH_MODES
from tests.live import LiveServer
from tests.live import connect
from tests.live import seeding
from tests.live import start_server
from tests.support import CSRF_RE
from tests.support import PASSPHRASE
from tests.support import TEST_REDIS_URL
from tests.support import needs_service
from tests.support import reachable

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]

SERVERS = [(kind, mode) for kind in ("python -m forum", "gunicorn") for mode in BOTH_MODES]


@pytest.fixture(scope="module", params=SERVERS, ids=["-".join(p).replace(" ", "") for p in SERVERS])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    kind, mode = request.param
    instance = tmp_path_factory.mktemp("server-modes")
    with seeding(instance):
        space = make_space(slug="lounge")
        room = make_room(space)
        tokens = {}
        for alias in ("amara", "bodil"):
            account = make_account(alias, age=timedelta(days=10))
            add_member(space, account)
            tokens[alias] = sessions.new_session(account)[1]
        db.session.commit()
        seeded = {"room": room.id, "tokens": tokens}
    env: dict[str, str] = {}
    if kind == "gunicorn":
        needs_service("Redis", *reachable(lambda: _ping(TEST_REDIS_URL)))
        env.update(
            WEB_CONCURRENCY="2",
            RB_LOG_LEVEL="info",  # gunicorn names its worker class at info
            REDIS_URL=TEST_REDIS_URL,
            RB_SOCKETIO_CHANNEL=f"rb-modes-{secrets.token_hex(6)}",
        )
    running = start_server(
        mode, extra_env=env, instance=instance, init_db=False, gunicorn=kind == "gunicorn"
    )
    yield kind, mode, running, seeded
    running.stop()


@pytest.fixture
def server(served) -> LiveServer:
    return served[2]


def _ping(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_connect_timeout=2).ping()


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


def test_a_request_the_server_cannot_parse_leaves_no_client_address(served):
    """gunicorn names the peer's address (never its port) in its warning: bound to
    loopback, that is nginx or Tor (deploy/gunicorn.conf.py)."""
    kind, _mode, server, _seeded = served
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        port = sock.getsockname()[1]
        sock.sendall(b"\x88\x82\x01\x02\x03\x04 not http\r\n\r\n")
        _read_until(sock, lambda seen: False, timeout=3)
    time.sleep(0.3)
    log = server.log()
    # Positive control: we read the server's output.
    assert ("Booting worker" if kind == "gunicorn" else "Red Brolly on") in log
    assert str(port) not in log, log[-2000:]


def test_gunicorn_serves_chat_and_sign_up_as_deployed(served):
    kind, mode, server, seeded = served
    if kind != "gunicorn":
        pytest.skip("python -m forum: tests/test_chat_live.py and the stack")
    room, tokens = seeded["room"], seeded["tokens"]
    # Each process answers once it has booted: ask until both workers have.
    deadline = time.monotonic() + 60
    while server.log().count("Booting worker") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert f"Using worker: {mode}" in server.log(), server.log()[-2000:]
    amara, bodil = connect(server, tokens["amara"]), connect(server, tokens["bodil"])
    try:
        for person in (amara, bodil):
            assert person.call("join", {"room_id": room, "after_seq": 0})["ok"]
        body = {"room_id": room, "client_id": uuid.uuid4().hex, "body": "through gunicorn"}
        ack = amara.call("send", body)
        assert ack["ok"], ack
        assert [m["seq"] for m in bodil.wait_for(1)] == [ack["seq"]]
    finally:
        amara.client.disconnect()
        bodil.client.disconnect()
    http = requests.Session()
    form = http.get(server.url + "/signup", timeout=20)
    data = {
        "csrf_token": CSRF_RE.search(form.text).group(1),
        "alias": f"Nadia-{mode}",
        "passphrase": PASSPHRASE,
        "passphrase2": PASSPHRASE,
    }
    signed_up = http.post(server.url + "/signup", data=data, timeout=60)
    assert signed_up.status_code == 200 and "recovery codes" in signed_up.text
    assert "Traceback" not in server.log(), server.log()[-3000:]


def test_a_wrong_passphrase_leaves_no_traceback(server: LiveServer):
    """argon2's verify raises on a mismatch, on the real thread it runs on. gevent's
    threadpool printed each such exception, with its traceback, before handing it back:
    every wrong passphrase (and every login to an unknown alias) wrote one to the log."""
    http = requests.Session()
    for alias in ("amara", "nobody-here"):  # a stored hash, and the dummy one
        page = http.get(server.url + "/login", timeout=20)
        data = {
            "csrf_token": CSRF_RE.search(page.text).group(1),
            "alias": alias,
            "passphrase": "not the passphrase at all",
        }
        refused = http.post(server.url + "/login", data=data, timeout=60)
        assert refused.status_code == 400, refused.status_code
    time.sleep(0.3)
    log = server.log()
    assert "Traceback" not in log and "VerifyMismatchError" not in log, log[-3000:]
