"""Fresh instances with known members and session tokens, and the servers to measure.

Seeding writes straight into the instance's SQLite file before the server starts
(accounts, sessions with tokens we know, one open space with a chat room), so no
benchmark run spends time logging in. The space, its room and the page content are
made through the services, so a rule added later that the seed breaks stops the
seed (and the smoke test, which seeds exactly as the full runs do). Our server is
started exactly as in production (``python -m forum``) by ``tests/live.py``, with
:data:`LOAD_ENV`; the peer server runs from /work/shared/bench/peer, never copied here.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from forum import aliases
from forum import clock
from forum import schema
from forum import sessions
from forum import spaces
from forum import threads
from forum.app import create_app
from forum.extensions import db
from forum.models import Account
from forum.models import AuthSession
from forum.models import Membership
from forum.models import Space
from forum.models import Thread
from moderation import trust
from realtime import chat
from tests.live import free_port
from tests.live import start_server

PEER_DIR = Path(os.environ.get("RB_BENCH_PEER_DIR", "/work/shared/bench/peer"))
SPACE_SLUG = "bench-lounge"
PAGES_MEMBERS = 10  # members seeded for bench.pages (its authors)
UNREACHABLE = "1000000 per 10 seconds"
# Limits the load must never reach, raised through their documented settings
# (forum/config.py): the chat limit of every trust level (moderation/trust.py's
# CHAT_RATE, so a level added later is raised too; bench senders climb from "new" to
# "trusted" as they send), and limits keyed on the client address, since every bench
# client is 127.0.0.1. The limiter still runs on every message; it is never reached.
# The per-socket event throttle (realtime/throttle.py) too: a saturating sender sends far
# more than 10 events a second on one socket.
LOAD_ENV = {**{setting: UNREACHABLE for setting in trust.CHAT_RATE.values()}, "RB_LIMIT_BY_ADDRESS": "0",
            "RB_SOCKET_RATE": "1000000", "RB_SOCKET_BURST": "1000000"}

MARKDOWN_POST = """Reply {i}: **bold advice**, *some emphasis* and a [safe link](https://example.org/{i}).

- first point, with `inline code`
- second point
- third point

> quoted from the post above, with a line that goes on for a while to make it wrap.

1. step one
2. step two

```
a small code block {i}
```
"""


@dataclass
class Seeded:
    instance: Path
    space_slug: str
    room_id: int
    tokens: list[str]
    thread_id: int | None = None
    space_id: int | None = None  # what page URLs carry (the slug is for services)
    extra: dict[str, int] = field(default_factory=dict)


def _seed_config(instance: Path) -> dict:
    return {
        "SECRET_KEY": "bench-seed-only",
        "RB_IDENTIFIER_KEY": "bench-seed-only",  # else a development key is written into instance/
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'redbrolly.db'}",
        "RB_ASYNC_MODE": "threading",
        "RB_SWEEP_INTERVAL": 0,
        "REDIS_URL": None,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RB_LIMITS_ENABLED": False,
    }


def seed(members: int, *, pages: bool = False, instance: Path | None = None, base_dir: str | None = None) -> Seeded:
    """A new instance: ``members`` accounts in one open space with one room, a token each.

    With ``pages``: 30 threads in the space, one of them 50 posts long in Markdown,
    and 50 chat messages in the room. ``base_dir``: where the instance folder goes
    (``/dev/shm`` takes the disk's fsync out of the figures).
    """
    instance = instance or Path(tempfile.mkdtemp(prefix="rb-bench-", dir=base_dir))
    app = create_app(_seed_config(instance))
    with app.app_context():
        schema.upgrade_schema()
        now = clock.now()
        admin = _account("bench-admin", now, admin=True)
        space = spaces.create_space(admin, name="Bench lounge", slug=SPACE_SLUG)
        room = chat.ensure_default_room(space.id)
        people, tokens = [], []
        for i in range(members):
            people.append(_account(f"bench{i:05d}", now))
        db.session.flush()
        for account in people:
            token = secrets.token_urlsafe(32)
            tokens.append(token)
            db.session.add(AuthSession(account_id=account.id, token_hash=sessions.hash_token(token),
                                       created_at=now, last_seen_at=now, expires_at=now + timedelta(days=7)))
            db.session.add(Membership(space_id=space.id, account_id=account.id, role="member",
                                      name_key=aliases.alias_skeleton(account.alias), joined_at=now))
        db.session.commit()
        seeded = Seeded(instance, SPACE_SLUG, room.id, tokens, space_id=space.id)
        if pages:
            _seed_pages(seeded, people[: min(len(people), PAGES_MEMBERS)])
        db.session.remove()
        db.engine.dispose()
    return seeded


def _account(alias: str, now: datetime, *, admin: bool = False) -> Account:
    """A month-old account that cannot log in (its sessions are seeded instead)."""
    account = Account(alias=alias, alias_key=aliases.alias_skeleton(alias), passphrase_hash="!bench-no-login",
                      created_at=now - timedelta(days=30), is_admin=admin)
    db.session.add(account)
    db.session.flush()
    return account


def _seed_pages(seeded: Seeded, authors: list[Account]) -> None:
    """Threads, a long Markdown thread and chat, written by members who have taken part:
    each first writes plain replies (trust level 1), so the Markdown's links are allowed."""
    for t in range(29):
        threads.create_thread(authors[t % len(authors)], seeded.space_slug, title=f"Thread number {t}",
                              body=f"Opening post of thread {t}, with **some** Markdown.")
    first = db.session.scalar(sa.select(Thread.id).join(Space).where(Space.slug == seeded.space_slug)
                              .order_by(Thread.id))
    for author in authors:
        for i in range(trust.MEMBER_MIN_POSTS):
            threads.reply(author, first, body=f"Plain reply {i} from {author.alias}.")
    long = threads.create_thread(authors[0], seeded.space_slug, title="A long thread with 50 posts",
                                 body=MARKDOWN_POST.format(i=0))
    for i in range(1, 50):
        threads.reply(authors[i % len(authors)], long.id, body=MARKDOWN_POST.format(i=i))
    for i in range(50):
        chat.post_message(authors[i % len(authors)], seeded.room_id, f"seed-message-{i:04d}",
                          f"chat message {i} with *emphasis* and a [link](https://example.org/{i})")
    seeded.thread_id = long.id


@dataclass
class Server:
    """A server process being measured; ``pid`` is the process whose CPU and RSS count."""

    name: str
    port: int
    pid: int
    origin: str
    stop: object  # () -> None
    kind: str = "rb"  # "rb" (our /chat protocol) or "bare" (peer: rebroadcast "msg" on "/")


def start_ours(mode: str, seeded: Seeded) -> Server:
    live = start_server(mode=mode, extra_env=LOAD_ENV, instance=seeded.instance)
    return Server(f"redbrolly-{mode}", live.port, live.process.pid, live.url, live.stop, "rb")


def _wait_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("peer server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("peer server did not start")


def _end(process: subprocess.Popen, grace: float = 10) -> None:
    """Stop a peer's server: SIGTERM, then SIGKILL if it is still there after ``grace`` s."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def start_peer(mode: str) -> Server:
    """The peer's bare Flask-SocketIO broadcast server, run from its own folder with our Python."""
    script = PEER_DIR / "flask_server.py"
    if not script.exists():
        raise FileNotFoundError(f"{script} not found (set RB_BENCH_PEER_DIR)")
    port = free_port()
    log = open(Path(tempfile.gettempdir()) / f"rb-bench-peer-{mode}-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen([sys.executable, str(script), mode, str(port)], cwd=PEER_DIR,
                               stdout=log, stderr=subprocess.STDOUT)
    _wait_port(port, process)

    def stop() -> None:
        _end(process)
        log.close()

    return Server(f"peer-bare-{mode}", port, process.pid, f"http://127.0.0.1:{port}", stop, "bare")


NODE_PATH = os.environ.get("RB_BENCH_NODE_PATH", "/tmp/rb-peer-node/node_modules")


def start_node() -> Server:
    """The peer's Node socket.io server (``node_server.js``: join one room at connect,
    rebroadcast ``msg``). Needs socket.io installed outside the repo, e.g.
    ``mkdir /tmp/rb-peer-node && cd /tmp/rb-peer-node && npm install socket.io``
    (``RB_BENCH_NODE_PATH`` points at its ``node_modules``)."""
    script = PEER_DIR / "node_server.js"
    if not script.exists():
        raise FileNotFoundError(f"{script} not found (set RB_BENCH_PEER_DIR)")
    if not Path(NODE_PATH, "socket.io").exists():
        raise FileNotFoundError(f"socket.io not found in {NODE_PATH} (set RB_BENCH_NODE_PATH)")
    port = free_port()
    log = open(Path(tempfile.gettempdir()) / f"rb-bench-node-{port}.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(["node", str(script), str(port)], cwd=PEER_DIR, stdout=log,
                               stderr=subprocess.STDOUT, env={**os.environ, "NODE_PATH": NODE_PATH})
    _wait_port(port, process)

    def stop() -> None:
        _end(process)
        log.close()

    return Server("peer-node", port, process.pid, f"http://127.0.0.1:{port}", stop, "bare")


def remove_instance(seeded: Seeded) -> None:
    shutil.rmtree(seeded.instance, ignore_errors=True)


FLASKBB_ENV = "RB_BENCH_FLASKBB"
# The peer's topic: populated by its populate.py as the first topic after the install's
# welcome topic, 50 posts whose bodies read "Thanks for sharing this, reply <i>. ..."
FLASKBB_TOPIC = os.environ.get("RB_BENCH_FLASKBB_TOPIC", "/topic/2")
FLASKBB_TOPIC_POSTS = 50


@dataclass
class FlaskbbInstall:
    """The peer's FlaskBB 2.2.0 scratch install (its setup's layout), never in the repo."""

    root: Path
    python: Path
    gunicorn: Path
    config: Path
    database: Path
    populate: Path


def flaskbb_install(root: str | None = None) -> FlaskbbInstall:
    """The install named by ``RB_BENCH_FLASKBB`` (or ``root``); a clear error if it is not one."""
    root = root if root is not None else os.environ.get(FLASKBB_ENV)
    if not root:
        raise FileNotFoundError(f"--flaskbb needs {FLASKBB_ENV} set to the scratch folder of the peer's "
                                "FlaskBB 2.2.0 install (docs/PERFORMANCE.md, Reproduce)")
    base = Path(root)
    venv = base / "venv-fbb313" / "bin"
    install = FlaskbbInstall(base, venv / "python", venv / "gunicorn", base / "fbb" / "flaskbb.cfg",
                             base / "fbb" / "flaskbb.sqlite", PEER_DIR / "flaskbb" / "populate.py")
    missing = [str(p) for p in (install.python, install.gunicorn, install.config, install.database,
                                install.populate) if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{FLASKBB_ENV}={root} is not a FlaskBB install as the peer's setup makes it"
                                f" (or RB_BENCH_PEER_DIR is wrong): missing {', '.join(missing)}")
    return install


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def start_flaskbb(posts_per_page: int, install: FlaskbbInstall) -> Server:
    """FlaskBB as its docs deploy it: gunicorn, one sync worker, on 127.0.0.1.

    Each server gets its own copy of the install's database and configuration (the page
    size is a setting FlaskBB caches per process, so two page sizes need two databases);
    the page size is set by the peer's ``populate.py`` with FlaskBB's own Python.
    ``pid`` is the worker's: it does all the work (the arbiter only watches it).
    """
    folder = Path(tempfile.mkdtemp(prefix=f"rb-bench-flaskbb-{posts_per_page}-"))
    port = free_port()
    shutil.copy(install.database, folder / "flaskbb.sqlite")
    config = folder / "flaskbb.cfg"
    # Later assignments win: FlaskBB answers only its SERVER_NAME, so it names our port.
    config.write_text(install.config.read_text() + f'\nSERVER_NAME = "127.0.0.1:{port}"\n'
                      f'SQLALCHEMY_DATABASE_URI = "sqlite:///{folder / "flaskbb.sqlite"}"\n')
    env = {**os.environ, "FLASKBB_CFG": str(config), "PATH": f"{install.python.parent}:{os.environ['PATH']}"}
    subprocess.run([str(install.python), str(install.populate), "0", str(posts_per_page)], cwd=folder, env=env,
                   check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = open(folder / "gunicorn.log", "wb")  # noqa: SIM115
    process = subprocess.Popen([str(install.gunicorn), "-w", "1", "-b", f"127.0.0.1:{port}",
                                f"flaskbb:create_app({str(config)!r})"], cwd=folder, env=env,
                               stdout=log, stderr=subprocess.STDOUT)

    def stop() -> None:
        _end(process, grace=15)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)

    try:
        _wait_port(port, process, timeout=60)
        deadline = time.monotonic() + 30
        while not (workers := _children(process.pid)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"FlaskBB's gunicorn started no worker (log: {folder / 'gunicorn.log'})")
            time.sleep(0.1)
    except Exception as error:
        tail = (folder / "gunicorn.log").read_text(errors="replace")[-2000:]
        stop()
        raise RuntimeError(f"FlaskBB did not start: {error}\n{tail}") from None
    except BaseException:
        stop()
        raise
    return Server(f"flaskbb-{posts_per_page}", port, workers[0], f"http://127.0.0.1:{port}", stop, "flaskbb")
