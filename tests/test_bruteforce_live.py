"""Brute force against the real server, the onion way (issue 16, item 5): every request
from 127.0.0.1 with ``RB_LIMIT_BY_ADDRESS=0``, as behind a Tor onion service.

- wrong passphrases against one alias, from one session and from 20: the attempts the
  server evaluates (every answer that is not a 429) stay within ``RB_LIMIT_LOGIN`` (10 per
  15 minutes per alias); none is a 5xx. By default 100 attempts each; with RB_HEAVY=1
  (the ``slow`` marker, .ci/run) 1,000, the issue's count.
- meanwhile the owner's passphrase waits out the window (the documented delay, proven
  with a moved clock in tests/test_bruteforce.py), but a recovery code gets them in at once;
- 50 concurrent logins: the server's peak memory grows by at most ``ARGON2_CONCURRENCY``
  hashes' memory (plus slack), because at most that many argon2 calls run at once.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
import requests

from forum import recovery
from forum.extensions import db
from tests.factories import make_account
from tests.live import LiveServer
from tests.live import live_database
from tests.live import seeding
from tests.live import start_server
from tests.support import PASSPHRASE

pytestmark = [pytest.mark.server, pytest.mark.timeout(600)]

HEAVY = os.environ.get("RB_HEAVY") == "1"
LIMIT = 10  # RB_LIMIT_LOGIN: 10 per 15 minutes per alias (forum/config.py)
MEMORY_KIB = 32 * 1024  # argon2 memory per hash on this server: big enough to measure
CONCURRENCY = 2  # ARGON2_CONCURRENCY (forum/passwords.py's default)
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
ARGON2 = {"ARGON2_MEMORY_COST": MEMORY_KIB, "ARGON2_TIME_COST": 1}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, backend: str):
    instance: Path = tmp_path_factory.mktemp("bruteforce")
    database = live_database(backend)
    with seeding(instance, database, **ARGON2):  # stored hashes with the server's own costs
        codes = {}
        for alias in ("Rosa-Lee", "Kit-Marlow"):
            codes[alias] = recovery.replace_codes(make_account(alias))
        db.session.commit()
    server = start_server(
        instance=instance,
        database=database,
        init_db=False,
        extra_env={**ARGON2, "RB_LIMIT_BY_ADDRESS": "0", "ARGON2_CONCURRENCY": CONCURRENCY},
    )
    yield server, codes
    server.stop()


def _status_kib(server: LiveServer, field: str) -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field}")


class Browser:
    """One cookie jar (one session, as far as the server can tell), with its CSRF token."""

    def __init__(self, server: LiveServer) -> None:
        self.server, self.http = server, requests.Session()
        page = self.http.get(server.url + "/login", timeout=30).text
        self.token = TOKEN.search(page).group(1)

    def post(self, path: str, form: dict) -> requests.Response:
        return self.http.post(
            self.server.url + path,
            data={"csrf_token": self.token, **form},
            allow_redirects=False,
            timeout=60,
        )

    def login(self, alias: str, passphrase: str) -> int:
        return self.post("/login", {"alias": alias, "passphrase": passphrase}).status_code


def _guess(browsers: list[Browser], alias: str, attempts: int) -> list[int]:
    """``attempts`` wrong passphrases, shared out over the browsers, each in its own thread."""
    statuses: list[int] = []
    lock = threading.Lock()

    def run(index: int, browser: Browser) -> None:
        for i in range(index, attempts, len(browsers)):
            status = browser.login(alias, f"wrong guess number {i}")
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=run, args=(i, b)) for i, b in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return statuses


ATTEMPTS = [
    pytest.param(
        1_000,
        marks=[
            pytest.mark.slow,
            pytest.mark.skipif(not HEAVY, reason="heavy: set RB_HEAVY=1 (.ci/run does)"),
        ],
    ),
    100,
]


@pytest.mark.parametrize("attempts", ATTEMPTS, ids=["1000", "100"])
@pytest.mark.parametrize(("alias", "sessions"), [("Rosa-Lee", 1), ("Kit-Marlow", 20)])
def test_guesses_past_the_limit_are_not_evaluated_and_recovery_still_works(
    live, attempts, alias, sessions
):
    server, codes = live
    statuses = _guess([Browser(server) for _ in range(sessions)], alias, attempts)
    assert len(statuses) == attempts
    assert all(s in (400, 429) for s in statuses), sorted(set(statuses))
    evaluated = sum(1 for s in statuses if s != 429)
    # Each parametrised run adds its guesses to the same alias's window: never past the limit.
    assert evaluated <= LIMIT, evaluated
    # The owner's passphrase waits for the window like everyone's...
    owner = Browser(server)
    assert owner.login(alias, PASSPHRASE) == 429
    # ...but a recovery code gets them in at once (limited per address only).
    new = f"a fresh passphrase after {attempts}"
    back = owner.post(
        "/recover",
        {"alias": alias, "code": codes[alias].pop(), "passphrase": new, "passphrase2": new},
    )
    assert back.status_code in (200, 303), back.text[:300]
    assert owner.http.get(server.url + "/account", allow_redirects=False).status_code == 200


def test_fifty_concurrent_logins_stay_within_bounded_memory(live):
    server, _codes = live
    warm = [Browser(server) for _ in range(CONCURRENCY)]  # the dummy hash, the pools
    _concurrent_logins(warm, "Warm-Up")
    before = _status_kib(server, "VmHWM")
    browsers = [Browser(server) for _ in range(50)]
    _concurrent_logins(browsers, "Nobody")
    peak_growth_mib = (_status_kib(server, "VmHWM") - before) / 1024
    # At most CONCURRENCY hashes' memory at once (the warm-up already peaked at that), plus
    # slack for 50 requests' own buffers. Without the bound, eventlet's 20 pool threads
    # would each hold 32 MiB: ~600 MB.
    bound_mib = CONCURRENCY * MEMORY_KIB / 1024 + 48
    assert peak_growth_mib <= bound_mib, (peak_growth_mib, bound_mib)


def _concurrent_logins(browsers: list[Browser], prefix: str) -> None:
    """Each browser logs in at once as an unknown alias of its own (no per-alias limit):
    each costs one argon2 verification (the dummy one)."""
    statuses: list[int] = []
    start = threading.Barrier(len(browsers))

    def run(i: int, browser: Browser) -> None:
        start.wait()
        statuses.append(browser.login(f"{prefix}-{i}", "not the passphrase at all"))

    threads = [threading.Thread(target=run, args=(i, b)) for i, b in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert statuses == [400] * len(browsers), statuses
