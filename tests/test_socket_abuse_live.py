"""Socket abuse against the real server (issue 16, item 3), with real Socket.IO clients.

- a foreign ``Origin`` with a valid cookie is refused on WebSocket and on long-polling;
- ``max_http_buffer_size`` fits the largest message the app accepts, and a 2 MB payload
  closes that connection without the server's memory growing by more than 50 MB;
- a client emitting far past the chat rate limit gets an error ack for every event past
  the limit (none dropped in silence), and 20 other clients keep their latency while it
  floods: by default 2,000 events in 2 s; with RB_HEAVY=1 (the ``slow`` marker, .ci/run)
  10,000 in 10 s. What keeps them: the per-socket throttle (realtime/throttle.py).
"""

from __future__ import annotations

import gc
import math
import os
import statistics
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import socketio as sio

from forum import markdown
from forum import sessions
from forum.extensions import db
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_room
from tests.factories import make_space
from tests.live import LiveServer
from tests.live import connect
from tests.live import live_database
from tests.live import seeding
from tests.live import start_server

pytestmark = [pytest.mark.server, pytest.mark.timeout(300)]

HEAVY = os.environ.get("RB_HEAVY") == "1"
NEW_RATE = 5  # RB_LIMIT_CHAT_NEW below: messages per 10 s for a new account
OTHERS = 20
CALM_ROUND = 0.25  # seconds: the shortest round of calm heartbeats during a flood
# One flooding account per flood test: the chat rate limit is per account, and a flood
# that just ended would leave the next one's window spent.
FLOODERS = ("floody", "floodheavy", "floodlight")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, backend: str):
    instance: Path = tmp_path_factory.mktemp("abuse")
    database = live_database(backend)
    with seeding(instance, database):
        space = make_space(slug="lounge")
        room = make_room(space)
        tokens = {}
        for alias in ("amara", *FLOODERS, *(f"calm{i}" for i in range(OTHERS))):
            new = alias in FLOODERS  # a new account: the strictest chat rate
            account = make_account(alias, age=None if new else timedelta(days=10))
            add_member(space, account)
            _row, tokens[alias] = sessions.new_session(account)
        db.session.commit()
        room_id = room.id
    server = start_server(
        instance=instance,
        database=database,
        extra_env={
            "RB_LIMIT_CHAT_NEW": f"{NEW_RATE} per 10 seconds",
            "RB_LIMIT_CHAT": "1000 per 10 seconds",
        },
    )
    yield server, room_id, tokens
    server.stop()


def _rss_kib(server: LiveServer) -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _close(client: sio.Client) -> None:
    """Release a refused or cut client's HTTP session and WebSocket (no leaked sockets)."""
    client.disconnect()
    if client.eio.http is not None:
        client.eio.http.close()
    if client.eio.ws is not None:
        client.eio.ws.close()


# --- Origin ------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_foreign_origin_with_a_valid_cookie_is_refused_on_every_transport(live, transport):
    server, _room, tokens = live
    cookie = f"{sessions.COOKIE_NAME}={tokens['amara']}"

    def attempt(origin: str) -> sio.Client:
        client = sio.Client(reconnection=False, websocket_extra_options={"origin": origin})
        headers = {"Cookie": cookie}
        if transport == "polling":
            headers["Origin"] = origin
        try:
            client.connect(
                server.url,
                headers=headers,
                namespaces=["/chat"],
                transports=[transport],
                wait_timeout=10,
            )
        except sio.exceptions.ConnectionError:
            _close(client)
            raise
        return client

    with pytest.raises(sio.exceptions.ConnectionError):
        attempt("http://evil.example")
    with pytest.raises(sio.exceptions.ConnectionError):
        attempt(f"http://127.0.0.1:{server.port}.evil.example")
    ours = attempt(server.url)  # the same cookie from our own origin works: it was the Origin
    try:
        assert ours.call("heartbeat", {}, namespace="/chat", timeout=15)["ok"] is True
    finally:
        ours.disconnect()


# --- payload size ---------------------------------------------------------------------------


# websocket-client leaves the socket of a connection the server closed to the garbage
# collector (a client-side leak, not the server's): collected here, inside this test.
@pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_the_largest_message_fits_and_two_megabytes_close_the_connection(live, transport):
    """Over WebSocket the frame is refused past ``max_http_buffer_size``; over long-polling
    the POST is refused on its Content-Length (engine.io answers 400 and drops the session)
    before its body is read. Either way the connection is gone and memory stays flat."""
    server, room, tokens = live
    amara = connect(server, tokens["amara"], transport=transport)
    try:
        assert amara.call("join", {"room_id": room, "after_seq": 10**9})["ok"]
        # Worst case on the wire: astral characters, each \\ud83d\\ude00 escaped (12 bytes).
        longest = "\U0001f600" * markdown.MAX_CHAT_CHARS
        ack = amara.call("send", {"room_id": room, "client_id": uuid.uuid4().hex, "body": longest})
        assert ack["ok"] is True, ack
    finally:
        amara.client.disconnect()

    before = _rss_kib(server)
    for _ in range(5):
        big = connect(server, tokens["amara"], transport=transport)
        big.client.emit(
            "send",
            {"room_id": room, "client_id": uuid.uuid4().hex, "body": "x" * (2 * 1024 * 1024)},
            namespace="/chat",
        )
        deadline = time.monotonic() + 15
        while big.client.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not big.client.connected, "a 2 MB payload did not close its connection"
        _close(big.client)
    growth_mib = (_rss_kib(server) - before) / 1024
    assert growth_mib < 50, f"server RSS grew {growth_mib:.1f} MB"
    after = connect(server, tokens["amara"], transport=transport)  # the server itself is fine
    try:
        assert after.call("heartbeat", {})["ok"] is True
    finally:
        after.client.disconnect()
        gc.collect()


# --- flood ------------------------------------------------------------------------------------


def _flood(
    server: LiveServer, room: int, token: str, events: int, seconds: float
) -> tuple[list[dict], float]:
    """Emit ``events`` sends spread over ``seconds``; return every ack and the elapsed time."""
    floody = connect(server, token)
    acks: list[dict] = []
    lock = threading.Lock()

    def got(ack: dict) -> None:
        with lock:
            acks.append(ack)

    try:
        started = time.monotonic()
        for i in range(events):
            floody.client.emit(
                "send",
                {"room_id": room, "client_id": f"flood-{uuid.uuid4().hex}", "body": f"spam {i}"},
                namespace="/chat",
                callback=got,
            )
            if seconds:
                lag = started + seconds * (i + 1) / events - time.monotonic()
                if lag > 0:
                    time.sleep(lag)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with lock:
                if len(acks) >= events:
                    break
            time.sleep(0.1)
        return list(acks), time.monotonic() - started
    finally:
        _close(floody.client)


def _check_flood(acks: list[dict], events: int, elapsed: float) -> None:
    assert len(acks) == events, f"{events - len(acks)} events got no answer"
    accepted = [a for a in acks if a.get("ok")]
    refused = [a for a in acks if not a.get("ok")]
    assert len(accepted) <= NEW_RATE * (math.ceil(elapsed / 10) + 1), len(accepted)
    assert accepted, "not even the first messages went through"
    assert all(a["status"] == 429 and a["error"] and a.get("retry_after") for a in refused), (
        refused[:3]
    )


def test_flood_gets_an_error_ack_for_every_event_past_the_limit(live):
    server, room, tokens = live
    events = 1_000
    acks, elapsed = _flood(server, room, tokens["floody"], events, 0)
    _check_flood(acks, events, elapsed)


# The 20 calm clients' median heartbeat latency during the flood may be at most this many
# times their median before it. Generous on purpose: the machine is shared (two cores, other
# test runs), and what this guards against is the failure measured before the per-socket
# throttle: calm heartbeats queued behind the flood's database work until they timed out
# (15 s, against ~3 ms quiet). With the throttle: ~12 ms during a 10,000-event flood.
LATENCY_RATIO = 10
LATENCY_FLOOR = 0.01  # s: a quiet median under 10 ms counts as 10 ms (timer noise)


@pytest.mark.parametrize(
    ("events", "seconds", "flooder"),
    [
        pytest.param(
            10_000,
            10,
            "floodheavy",
            marks=[
                pytest.mark.slow,
                pytest.mark.skipif(not HEAVY, reason="heavy load: set RB_HEAVY=1 (.ci/run does)"),
            ],
        ),
        (2_000, 2, "floodlight"),
    ],
    ids=["10000-in-10s", "2000-in-2s"],
)
def test_a_flood_leaves_other_clients_latency_alone(live, events, seconds, flooder):
    """One socket floods at 1,000 events a second; 20 others keep their heartbeat latency.

    Measured (2026-12-02, 2 cores): before the per-socket throttle, calm heartbeats timed
    out; after it, their median went from ~3 ms to ~12 ms during a 10,000-event flood.
    """
    server, room, tokens = live
    calm = [connect(server, tokens[f"calm{i}"]) for i in range(OTHERS)]

    def one_round() -> list[float]:
        seen = []
        for person in calm:
            t0 = time.monotonic()
            # A long timeout: one call stalled by the machine's load (others' tests share the
            # cores) moves a median of many by nothing; a flood that starved everyone moves it.
            ack = person.client.call("heartbeat", {}, namespace="/chat", timeout=90)
            assert ack["ok"] is True, ack
            seen.append(time.monotonic() - t0)
        return seen

    try:
        quiet = statistics.median(one_round() + one_round() + one_round())
        result: dict = {}
        flood = threading.Thread(
            target=lambda: result.update(
                zip(
                    ("acks", "elapsed"),
                    _flood(server, room, tokens[flooder], events, seconds),
                    strict=True,
                )
            )
        )
        flood.start()
        loud: list[float] = []
        started = time.monotonic()
        while not loud or time.monotonic() - started < seconds:  # rounds while it floods
            round_started = time.monotonic()
            loud += one_round()
            # Each calm client at most 4 heartbeats a second: people, not a second flood.
            # Unpaced, fast rounds sent each ~16 a second and met their own bucket (10/s).
            time.sleep(max(0.0, CALM_ROUND - (time.monotonic() - round_started)))
        flood.join(timeout=200)
        _check_flood(result["acks"], events, result["elapsed"])
        during = statistics.median(loud)
        assert during <= LATENCY_RATIO * max(quiet, LATENCY_FLOOR), (quiet, during, len(loud))
    finally:
        for person in calm:
            person.client.disconnect()
