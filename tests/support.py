"""Plain helpers every test may import: test configuration, forms with CSRF, the
Socket.IO test client, and the check for optional services (PostgreSQL, Redis).

Objects (accounts, spaces, threads, rooms, messages) come from ``tests/factories.py``;
fixtures live in ``tests/conftest.py``, which no test module imports.
"""

from __future__ import annotations

import contextvars
import os
import re
import secrets
import string
import threading
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from forum import sealed
from forum.extensions import db
from forum.extensions import socketio

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSPHRASE = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_VALUE = re.compile(r'name="csrf_token" value="[^"]*"')
ORIGIN = "http://localhost"
NS = "/chat"

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def base_config(tmp: Path, **extra: Any) -> dict[str, Any]:
    """The test app's configuration: an SQLite file in ``tmp``, threading, cheap argon2."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "RB_IDENTIFIER_KEY": "test-identifier-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'test.db'}",
        # The key vault (forum/sealed.py), one per test: where an SQLite database's own
        # would be, and never the shared instance/ folder (a PostgreSQL test's default).
        "RB_VAULT_PATH": str(tmp / "test.vault.db"),
        "RB_ASYNC_MODE": "threading",
        "RB_PUBLIC_ORIGIN": ORIGIN,
        "RB_SWEEP_INTERVAL": 0,
        # One presence update per change, sent at once (coalescing: test_chat_presence).
        "RB_PRESENCE_MS": 0,
        "REDIS_URL": None,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Cheap argon2 for speed; production parameters are tested on their own.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 8,
        "ARGON2_PARALLELISM": 1,
        # In-process sweeps send hundreds of events on one connection in well under a second;
        # the per-socket bucket has its own tests (tests/test_socket_throttle.py) and the
        # real server runs with the defaults (tests/test_socket_abuse_live.py).
        "RB_SOCKET_BURST": 100_000,
    }
    config.update(extra)
    return config


class IsolatedClient(FlaskClient):
    """Runs each request in an empty context, as a server would.

    The ``app`` fixture keeps an app context pushed for the test's own database
    work; without this, Flask would reuse it for every request, sharing ``g`` (and
    the database session) between requests in a way production never does.
    """

    def open(self, *args: Any, **kwargs: Any):
        return contextvars.Context().run(super().open, *args, **kwargs)


class FrozenClock:
    """A clock that stands still until told to move."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current

    def set(self, when: datetime) -> None:
        self.current = when


# --- forms ------------------------------------------------------------------------


def csrf_token(client: FlaskClient, path: str = "/signup", **kwargs: Any) -> str:
    """The CSRF token a real form on ``path`` would carry."""
    page = client.get(path, **kwargs).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any):
    """POST a form the way a browser would: with the page's CSRF token."""
    passthrough = {k: v for k, v in kwargs.items() if k in ("base_url", "environ_base")}
    form = {"csrf_token": csrf_token(client, **passthrough)}
    form.update(data or {})
    return client.post(path, data=form, **kwargs)


# The recovery codes page: the codes (one per line of the read-only box) and which one it
# asks back.
CODE_LINE = re.compile(r"^\d+\. ([A-Z2-9]{4}(?:-[A-Z2-9]{4}){2,3})$", re.M)
CODES_BOX = re.compile(r'<textarea id="codes-all"[^>]*>(.*?)</textarea>', re.S)
ASKED = re.compile(r'name="ask" value="(\d+)"')


def shown_codes(html: str) -> list[str]:
    """The recovery codes a page shows, in order."""
    box = CODES_BOX.search(html)
    return CODE_LINE.findall(box.group(1)) if box else []


def confirm_codes(client: FlaskClient, html: str, **kwargs: Any):
    """Type back the code the codes page asks for (the step after sign-up)."""
    codes = shown_codes(html)
    ask = int(ASKED.search(html).group(1))
    form = {"code": codes, "ask": str(ask), "fresh": "1", "answer": codes[ask - 1]}
    response = post(client, "/codes", form, **kwargs)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response


def sign_up(client: FlaskClient, alias: str, passphrase: str = PASSPHRASE, **kwargs: Any):
    """Sign up through the form and type back the code asked; the codes page's answer."""
    form = {"alias": alias, "passphrase": passphrase, "passphrase2": passphrase}
    page = post(client, "/signup", form, **kwargs)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    confirm_codes(client, page.get_data(as_text=True), **kwargs)
    return page


def login(client: FlaskClient, alias: str, passphrase: str = PASSPHRASE, **kwargs: Any):
    response = post(client, "/login", {"alias": alias, "passphrase": passphrase}, **kwargs)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response


def signed_in(app: Flask, alias: str, passphrase: str = PASSPHRASE) -> FlaskClient:
    """A new test client (a browser of its own), signed in as ``alias``."""
    client = app.test_client()
    login(client, alias, passphrase)
    return client


def scrub(html: str) -> str:
    """A page without its per-request CSRF token, for byte-for-byte comparisons."""
    return CSRF_VALUE.sub('name="csrf_token" value=""', html)


def marker(label: str = "m") -> str:
    """A unique word no test data contains by chance (its tail is what we grep for)."""
    return f"{label}{secrets.token_hex(16)}"


def incompressible(size: int = 8192) -> str:
    """Random printable text: defeats any compression (SQLite has none; TOAST does)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(size))


def disk_bytes() -> bytes:
    """What the test database and the vault hold, as a seized server yields them, with
    every sealed value that still opens: on SQLite the raw bytes of the files
    (``sqlite_bytes``); on PostgreSQL, whose data folder the crypto-shredding test scans
    (tests/test_shredding_postgres.py), the text of every row (``postgres_rows``)."""
    if db.engine.dialect.name == "sqlite":
        return sqlite_bytes()
    return postgres_rows()


def with_text(model: Any, column: str, text: str) -> list[Any]:
    """Rows of ``model`` whose ``column`` reads ``text``. Sealed columns (forum/sealed.py)
    hold ciphertext, so SQL cannot compare them: the rows are opened and compared here."""
    return [row for row in db.session.scalars(sa.select(model)) if getattr(row, column) == text]


def ids_follow_the_largest(model: Any) -> None:
    """After rows were added with ids chosen by the test: the next row's id follows the
    largest, on PostgreSQL too (SQLite picks max(id) + 1 itself; a PostgreSQL sequence
    only counts the ids it handed out)."""
    if db.engine.dialect.name != "postgresql":
        return
    table = model.__table__.name
    db.session.execute(
        sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")  # nosec B608: a model's table name
    )
    db.session.commit()


def count_rows(model: Any, *where: Any) -> int:
    """How many rows of ``model`` the database holds (matching ``where``)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# --- Socket.IO ------------------------------------------------------------------------


class Sock:
    """A Socket.IO test client on /chat whose every call runs in a fresh context, as a
    server would. It shares cookies with the Flask test ``client`` it is made from."""

    def __init__(
        self,
        app: Flask,
        client: FlaskClient,
        headers: dict[str, str] | None = None,
        auth: dict | None = None,
    ) -> None:
        headers = {"Origin": ORIGIN} if headers is None else headers
        self.raw = contextvars.Context().run(
            socketio.test_client,
            app,
            namespace=NS,
            flask_test_client=client,
            headers=headers,
            auth=auth,
        )

    @property
    def connected(self) -> bool:
        return self.raw.is_connected(NS)

    def ack(self, event: str, data: object = None) -> dict:
        return contextvars.Context().run(self.raw.emit, event, data, namespace=NS, callback=True)

    def received(self, name: str | None = None) -> list:
        events = contextvars.Context().run(self.raw.get_received, NS)
        # The test client stores a "message" event's data unwrapped (it is send()'s name).
        return [
            e["args"][0] if isinstance(e["args"], list) else e["args"]
            for e in events
            if name is None or e["name"] == name
        ]

    def watch(self, thread_id: object) -> dict:
        return self.ack("watch_thread", {"thread_id": thread_id})

    def disconnect(self) -> None:
        contextvars.Context().run(self.raw.disconnect, namespace=NS)


# --- optional services ------------------------------------------------------------


def needs_service(name: str, available: bool, why: str) -> None:
    """Skip locally when a service is missing; fail in CI, where it must be there."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{name} is required in CI but unavailable: {why}")
    pytest.skip(f"{name} unavailable: {why}")


def reachable(probe: Callable[[], object]) -> tuple[bool, str]:
    """(True, "") when ``probe()`` works, else (False, the error's name)."""
    try:
        probe()
    except Exception as error:
        return False, f"{type(error).__name__}: {error}"
    return True, ""


def sweep_in_process(database_url: str, vault: str, now_iso: str, batch: int) -> dict[str, int]:
    """Run in a child process: build an app on the same database (and vault) and sweep it."""
    from forum import expiry
    from forum.app import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "RB_IDENTIFIER_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RB_VAULT_PATH": vault,
            "RB_ASYNC_MODE": "threading",
            "RB_SWEEP_INTERVAL": 0,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    with app.app_context():
        return expiry.delete_expired(datetime.fromisoformat(now_iso), batch=batch)


def race_in_process(
    database_url: str, now_iso: str, start: Any, batches: tuple[int, int], out: Any
) -> None:
    """Run in a child process: an app on ``database_url`` that waits at the ``start``
    barrier, then fires due check-ins and sweeps expired content in small batches
    (``batches``: check-ins, sweep), as each server process's timers do. Puts on ``out``
    the ids it handled, read from the signals it sent (what reaches clients), per kind."""
    from forum import expiry
    from forum import signals
    from forum.app import create_app
    from forum.safety import checkins

    handled: dict[str, list] = {"alerts": []}
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "RB_IDENTIFIER_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RB_ASYNC_MODE": "threading",
            "RB_SWEEP_INTERVAL": 0,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )

    def alert(checkin_id: int, **_: Any) -> None:
        handled["alerts"].append(checkin_id)

    def expired(kind: str, ids: list[int] = (), **_: Any) -> None:
        handled.setdefault(kind, []).extend(ids)

    signals.checkin_alert.connect(alert)
    signals.content_expired.connect(expired)
    now = datetime.fromisoformat(now_iso)
    with app.app_context():
        start.wait(60)
        while checkins.fire_due(now, batch=batches[0]):
            pass
        expiry.delete_expired(now, batch=batches[1])
        db.session.remove()
        db.engine.dispose()
    out.put(handled)


# --- Raw bytes of the SQLite files (the deletion-reaches-the-disk tests) ------------------


def letters(label: str, n: int = 24) -> str:
    """A random marker of letters only: long digit runs look like phone numbers to the
    privacy guard, and random letters are in no other test data."""
    return label + "".join(secrets.choice(string.ascii_lowercase) for _ in range(n))


def tail(word: str) -> bytes:
    """What to grep for: FTS5 stores terms prefix-compressed, so a word's head may be shared."""
    return word[-12:].encode()


def sqlite_bytes() -> bytes:
    """What a seized server yields: the raw bytes of the database's main file, -wal and
    -shm and of the key vault's (which holds the search index), plus every sealed value
    found in those bytes that still opens with a key the vault holds (forum/sealed.py)."""
    return seized_bytes(Path(db.engine.url.database), sealed.vault())


def seized_bytes(database: Path, vault: Path | sealed.Vault) -> bytes:
    """``sqlite_bytes`` for any SQLite database and its vault (a live server's, say)."""
    keys = vault if isinstance(vault, sealed.Vault) else sealed.Vault(vault)
    files: list[Path] = []
    for path in (database, keys.path):
        files += [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    raw = b"".join(f.read_bytes() for f in files if f.exists())
    found = _SEALED_VALUE.findall(raw)
    opened = [str(keys.open(value.decode("ascii"))).encode() for value in found]
    return raw + b"\n".join(opened)


def postgres_rows() -> bytes:
    """Every row of every table of the test's PostgreSQL database as text, plus the
    vault's raw bytes (it holds the search index), plus every sealed value found there
    that still opens: removed text must be in none of it, live text must be."""
    parts: list[bytes] = []
    with db.engine.connect() as connection:
        for table in sa.inspect(connection).get_table_names():
            rows = connection.exec_driver_sql(f'SELECT t::text FROM "{table}" t').scalars()
            parts += [row.encode() for row in rows]
    keys = sealed.vault()
    for path in (keys.path, keys.path.with_name(keys.path.name + "-wal")):
        if path.exists():
            parts.append(path.read_bytes())
    raw = b"\n".join(parts)
    opened = [
        str(keys.open(value.decode("ascii"))).encode() for value in _SEALED_VALUE.findall(raw)
    ]
    return raw + b"\n".join(opened)


# A sealed value as it sits in the files: magic, key id, base64.
_SEALED_VALUE = re.compile(rb"\x01S1\.[0-9]+\.[A-Za-z0-9+/]+=*\.")


def assert_gone(gone: str, kept: str) -> None:
    """``gone`` is in 0 bytes of the files; ``kept`` (the positive control) is there."""
    db.session.commit()  # end the test's own read transaction
    data = disk_bytes()
    assert tail(kept) in data, "positive control: live text must be found on disk"
    assert tail(gone) not in data, "removed text is still in the database files"


def assert_both_on_disk(gone: str, kept: str) -> None:
    """Before the write under test: both markers are in the files (after a checkpoint)."""
    from forum import disk

    disk.checkpoint(db.engine)
    db.session.commit()
    data = disk_bytes()
    assert tail(gone) in data and tail(kept) in data


# --- Raw bytes of PostgreSQL's data folder (the crypto-shredding test) --------------------


def postgres_disk_bytes(connection: sa.Connection) -> bytes | None:
    """After a CHECKPOINT: the raw bytes of this database's table and index files and of
    every WAL segment, read from ``SHOW data_directory``. None when the folder is not
    readable from here (another host, or not running as root/postgres)."""
    connection.exec_driver_sql("CHECKPOINT")
    folder = Path(connection.exec_driver_sql("SHOW data_directory").scalar_one())
    oid = connection.exec_driver_sql(
        "SELECT oid FROM pg_database WHERE datname = current_database()"
    ).scalar_one()
    parts: list[bytes] = []
    try:
        for sub in (folder / "base" / str(oid), folder / "pg_wal"):
            for path in sorted(sub.iterdir()):
                if path.is_file():
                    parts.append(path.read_bytes())
    except OSError:
        return None
    return b"".join(parts)


CHROMIUM = "/usr/bin/chromium"


class InBrowser:
    """Runs a test body in a tab of its own Chromium, on a thread of its own (the
    ``in_browser`` fixture): for scripts tested against a stand-in server.

    tests/browser/conftest.py keeps a session-wide sync Playwright (and its asyncio
    loop) open on the main thread; a second sync Playwright must live elsewhere.
    """

    def __call__(self, body: Callable[[Any], None]) -> None:
        from playwright.sync_api import sync_playwright

        failure: list[BaseException] = []

        def run() -> None:
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                    try:
                        body(browser.new_context(service_workers="block").new_page())
                    finally:
                        browser.close()
            except BaseException as error:
                failure.append(error)

        worker = threading.Thread(target=run)
        worker.start()
        worker.join(120)
        assert not worker.is_alive(), "the browser test did not finish"
        if failure:
            raise failure[0]


# --- walking the routes (tests/test_fuzz.py, tests/test_not_there.py) --------------------

URL_VARIABLE = re.compile(r"<(?:(\w+):)?(\w+)>")
# What each id variable of a route names in tests/hostile.py's world (its key there).
WORLD_IDS = {
    "room_id": "room",
    "thread_id": "thread",
    "post_id": "post",
    "membership_id": "membership",
    "invite_id": "invite",
    "request_id": "request",
    "word_id": "word",
    "action_id": "action",
    "appeal_id": "appeal",
    "block_id": "block",
    "session_id": "session",
    "account_id": "olu",
    "report_id": "report",
    "buddy_id": "buddy",
    "checkin_id": "checkin",
    "alert_id": "alert",
}


def routes(app: Flask, skip: frozenset[str] | set[str] = frozenset()) -> list[Any]:
    """Every rule of ``app.url_map`` but the endpoints in ``skip``, in a stable order."""
    return sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint not in skip),
        key=lambda rule: rule.rule,
    )


def url_variables(rule: Any) -> list[str]:
    """The names of a route's variables, in order."""
    return [name for _converter, name in URL_VARIABLE.findall(rule.rule)]


def fill_route(rule: Any, value: Callable[[str | None, str], object]) -> str:
    """The route's path with each variable replaced by ``value(converter, name)``."""
    return URL_VARIABLE.sub(lambda m: str(value(m.group(1), m.group(2))), rule.rule)


# Words of the English interface that must not survive on a Spanish page (a sample).
ENGLISH_UI = [
    "Quick exit", "Log in", "Sign up", "Log out", "Skip to content", "Spaces", "Search",
    "Account", "Notices", "Reply", "Save", "Delete", "Language", "Join", "Passphrase",
    "New thread", "Updates", "disappears", "Welcome", "Your account", "Preferences",
    "Recovery codes", "Send", "Flag", "Block", "Time zone", "Choose your language",
]  # fmt: skip


def english_left(html: str) -> list[str]:
    """Words of the English interface (a sample) still on a page that should be in another
    language: in its visible text and the attributes people read."""
    # Visible text and the attributes people read; the language names in the picker are
    # each in their own language on purpose ("English" is English).
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    # What people wrote (posts, rules, guides) is in whatever language they wrote it.
    text = re.sub(r'<div class="post-body">.*?</div>', " ", text, flags=re.S)
    attrs = " ".join(re.findall(r'(?:title|aria-label|placeholder|data-confirm)="([^"]*)"', text))
    text = re.sub(r"<[^>]+>", " ", text) + " " + attrs
    text = text.replace("English", "")
    return [word for word in ENGLISH_UI if re.search(rf"\b{re.escape(word)}\b", text)]
