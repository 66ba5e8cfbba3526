"""Automatic expiry: read paths hide expired rows, the sweep deletes them from the disk."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext

from forum import access
from forum import expiry
from forum import sealed
from forum import search
from forum import signals
from forum.app import _sqlite_pragmas
from forum.dbtypes import UTCDateTime
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Post
from forum.models import Thread
from forum.models import ThreadFollow
from realtime.models import ChatMessage
from tests.factories import make_message
from tests.factories import make_post
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread
from tests.support import disk_bytes
from tests.support import incompressible
from tests.support import marker
from tests.support import sweep_in_process

HEAVY = os.environ.get("RB_HEAVY") == "1"


def tail(text: str) -> bytes:
    return text[-20:].encode()


@pytest.fixture
def received():
    """Every content_expired signal sent during the test: (kind, kwargs)."""
    calls: list[tuple[str, dict]] = []

    def receiver(sender, **kwargs):
        calls.append((sender, kwargs))

    signals.content_expired.connect(receiver)
    yield calls
    signals.content_expired.disconnect(receiver)


def live_chat_bodies() -> list[str]:
    return list(
        db.session.scalars(sa.select(ChatMessage.body).where(access.live(ChatMessage.expires_at)))
    )


def live_post_bodies() -> list[str]:
    return list(db.session.scalars(sa.select(Post.body).where(access.live(Post.expires_at))))


def live_thread_titles() -> list[str]:
    return list(db.session.scalars(sa.select(Thread.title).where(access.live(Thread.expires_at))))


# --- The "done when": a 1-hour room, every read path, then the disk -------------------


def test_expired_text_leaves_every_read_path_and_then_the_disk(app, clock, make_account):
    owner = make_account()
    short = make_space(owner=owner, chat_retention_hours=1, post_retention_days=1)
    keep = make_space(owner=owner, chat_retention_hours=720, post_retention_days=365)
    room, live_room = make_room(short), make_room(keep)

    chat_mark, post_mark, title_mark = marker("chat"), marker("post"), marker("title")
    reply_mark, live_mark, live_post_mark = marker("reply"), marker("live"), marker("livepost")
    long_body = incompressible(8192)
    message = make_message(room, body=f"hello {chat_mark} there")
    assert message.expires_at == clock.now() + timedelta(hours=1)
    long_message = make_message(room, body="to be lengthened")
    long_message.body = (
        long_body  # past the chat limit on purpose: a row that spills to overflow pages
    )
    db.session.commit()
    make_message(live_room, body=f"still here {live_mark}")
    thread = make_thread(short, title=f"About {title_mark}", body=f"first {post_mark}")
    reply = make_post(thread, body=f"a reply {reply_mark}")
    live_thread = make_thread(keep, title="Kept", body=f"kept {live_post_mark}")
    thread_id, reply_id, message_ids = thread.id, reply.id, (message.id, long_message.id)

    # An edited post: the old text has reached the main file before the edit.
    old_mark, new_mark = marker("oldtext"), marker("newtext")
    edited = make_post(live_thread, body=f"before {old_mark}")
    assert expiry.checkpoint()
    assert tail(old_mark) in disk_bytes()
    edited.body = f"after {new_mark}"
    db.session.commit()

    # Before expiry everything is readable.
    assert any(chat_mark in b for b in live_chat_bodies())
    assert access.access_thread(owner, thread_id)[0].title.endswith(title_mark)

    # One hour later the chat message is gone from every read path...
    clock.advance(hours=1, seconds=1)
    assert not any(chat_mark in b for b in live_chat_bodies())
    assert long_body not in live_chat_bodies()
    assert any(live_mark in b for b in live_chat_bodies())
    # ...and after a day the thread, its title and its posts too.
    clock.advance(days=1)
    assert not any(title_mark in t for t in live_thread_titles())
    assert not any(post_mark in b or reply_mark in b for b in live_post_bodies())
    with pytest.raises(NotFound):
        access.access_thread(owner, thread_id)
    with pytest.raises(NotFound):
        access.access_post(owner, reply_id)
    assert any(live_post_mark in b for b in live_post_bodies())

    counts = expiry.delete_expired()
    # Every other registered kind (bad-date reports, ...) had nothing to delete.
    assert counts == {**dict.fromkeys(counts, 0), "chat": 2, "posts": 2, "threads": 1}
    db.session.expire_all()
    assert db.session.get(Thread, thread_id) is None
    assert all(db.session.get(ChatMessage, i) is None for i in message_ids)
    db.session.close()

    blob = disk_bytes()
    for gone in (chat_mark, post_mark, title_mark, reply_mark, old_mark, long_body):
        assert blob.count(tail(gone)) == 0, gone[:8]
    # Positive controls: the scan does read what is still there.
    for kept in (live_mark, live_post_mark, new_mark):
        assert tail(kept) in blob
    wal = Path(f"{db.engine.url.database}-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_secure_delete_zeroes_an_updated_cell_in_the_main_file(app, clock):
    """An edit (UPDATE of body) leaves no copy of the old text once checkpointed."""
    space = make_space(chat_retention_hours=24)
    thread = make_thread(space, body=marker("first"))
    old = marker("old") + incompressible(3000)  # spills to overflow pages
    post = make_post(thread, body=old)
    expiry.checkpoint()
    assert tail(old) in disk_bytes()
    post.body = "short now"
    db.session.commit()
    assert expiry.checkpoint()
    db.session.close()
    assert tail(old) not in disk_bytes()


# --- The live signal ----------------------------------------------------------------------


def test_each_batch_signal_carries_what_a_client_needs(app, clock, received):
    space = make_space(chat_retention_hours=1, post_retention_days=1)
    room = make_room(space)
    first, second = make_message(room, body="one"), make_message(room, body="two")
    thread = make_thread(space)
    reply = make_post(thread, body="a reply")
    ids = {
        "first": first.id,
        "second": second.id,
        "room": room.id,
        "thread": thread.id,
        "reply": reply.id,
        "space": space.id,
    }
    clock.advance(days=2)

    expiry.delete_expired(batch=1000)

    by_kind = {kind: kwargs for kind, kwargs in received}
    assert set(by_kind) == {"chat", "posts", "threads"}
    chat = by_kind["chat"]
    # A chat client removes by room and sequence number; the ids serve the others.
    assert sorted(chat["ids"]) == sorted([ids["first"], ids["second"]])
    assert {room: sorted(seqs) for room, seqs in chat["rooms"].items()} == {ids["room"]: [1, 2]}
    assert {row["space_id"] for row in chat["rows"]} == {ids["space"]}
    posts = by_kind["posts"]
    assert ids["reply"] in posts["ids"] and posts["threads"] == [ids["thread"]]
    assert by_kind["threads"]["ids"] == [ids["thread"]]
    assert by_kind["threads"]["rows"] == [{"id": ids["thread"], "space_id": ids["space"]}]


def test_nothing_expired_sends_nothing_and_keeps_everything(app, clock, received):
    space = make_space(chat_retention_hours=1)
    make_message(make_room(space), body="fresh")
    counts = expiry.delete_expired()
    assert {"chat", "posts", "threads"} <= set(counts) and not any(counts.values())
    assert received == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatMessage)) == 1


# --- Threads, follows, posts ------------------------------------------------------------------


KEEP_ALLOWED = pytest.mark.parametrize("app_config", [{"RB_ALLOW_KEEP_POSTS": True}])


@KEEP_ALLOWED
def test_thread_whose_posts_are_all_gone_is_deleted_with_its_follows(app, clock, make_account):
    reader = make_account()
    space = make_space(post_retention_days=None)  # keep: the thread itself never expires
    thread = make_thread(space)
    db.session.add(ThreadFollow(account_id=reader.id, thread_id=thread.id))
    db.session.execute(
        sa.update(Post).where(Post.thread_id == thread.id).values(expires_at=clock.now())
    )
    db.session.commit()
    clock.advance(minutes=5)
    counts = expiry.delete_expired()
    assert counts["posts"] == 1 and counts["threads"] == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ThreadFollow)) == 0


@KEEP_ALLOWED
def test_a_thread_with_live_posts_and_no_expiry_stays(app, clock):
    space = make_space(post_retention_days=None)
    thread = make_thread(space)
    clock.advance(days=400)
    assert expiry.delete_expired()["threads"] == 0
    assert db.session.get(Thread, thread.id) is not None


# --- Scale and concurrency --------------------------------------------------------------------


def _insert_chat(space_id: int, room_id: int, count: int, expired_at, start_seq: int = 1) -> None:
    table = ChatMessage.__table__
    # Core inserts bypass the flush hook: seal the body here (one value for all rows).
    body = sealed.seal_for(ChatMessage, "bulk message", space_id=space_id, expires_at=expired_at)
    rows = [
        {
            "room_id": room_id,
            "space_id": space_id,
            "seq": start_seq + i,
            "author_name": "x",
            "body": body,
            "created_at": expired_at - timedelta(hours=1),
            "expires_at": expired_at,
        }
        for i in range(count)
    ]
    with db.engine.begin() as conn:
        conn.execute(table.insert(), rows)


def test_a_large_sweep_runs_in_bounded_batches_and_spares_live_rows(app, clock, received):
    total = 1_000_000 if HEAVY else 100_000
    space = make_space(chat_retention_hours=24)
    room = make_room(space)
    now = clock.now()
    _insert_chat(space.id, room.id, total, now - timedelta(minutes=1))
    _insert_chat(space.id, room.id, 500, now + timedelta(hours=1), start_seq=total + 1)

    counts = expiry.delete_expired(now, batch=1000)

    assert counts["chat"] == total
    chat_batches = [kwargs for kind, kwargs in received if kind == "chat"]
    # Each batch is sized to stay short (expiry.BATCH_SECONDS), never over ``batch``;
    # every row deleted was announced once.
    assert max(len(b["ids"]) for b in chat_batches) <= 1000
    assert min(len(b["ids"]) for b in chat_batches[:-1]) >= expiry.MIN_BATCH
    ids = [i for b in chat_batches for i in b["ids"]]
    assert len(ids) == len(set(ids)) == total
    remaining = db.session.scalar(sa.select(sa.func.count()).select_from(ChatMessage))
    assert remaining == 500


def test_two_sweepers_at_once_delete_every_row_exactly_once(app, clock):
    space = make_space(chat_retention_hours=1, post_retention_days=1)
    room = make_room(space)
    now = clock.now()
    _insert_chat(space.id, room.id, 20_000, now - timedelta(minutes=1))
    threads = [make_thread(space, title=f"t{i}", when=now - timedelta(days=2)) for i in range(30)]
    assert len(threads) == 30
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def sweep() -> None:
        try:
            with app.app_context():
                barrier.wait()
                results.append(expiry.delete_expired(now, batch=200))
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=sweep) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert errors == []
    assert len(results) == 2
    assert sum(r["chat"] for r in results) == 20_000
    assert sum(r["posts"] for r in results) == 30
    assert sum(r["threads"] for r in results) == 30
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatMessage)) == 0


def test_two_sweeper_processes_on_one_database(app, clock):
    space = make_space(chat_retention_hours=1)
    room = make_room(space)
    now = clock.now()
    _insert_chat(space.id, room.id, 5_000, now - timedelta(minutes=1))
    db.session.close()
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        url = db.engine.url.render_as_string(hide_password=False)
        vault = app.config["RB_VAULT_PATH"]
        results = pool.starmap(sweep_in_process, [(url, vault, now.isoformat(), 100)] * 2)
    assert sum(r["chat"] for r in results) == 5_000
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatMessage)) == 0


# --- Plugging in: the registry, and compaction after a sweep ----------------------------------


def test_a_registered_expirer_runs_and_a_failed_compaction_is_logged(
    app, clock, received, caplog, monkeypatch
):
    alerts = sa.Table(
        "test_alerts",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("body", sa.Text),
        sa.Column("expires_at", UTCDateTime()),
    )
    alerts.create(db.engine)
    now = clock.now()
    with db.engine.begin() as conn:
        conn.execute(
            alerts.insert(),
            [
                {"id": 1, "body": "old", "expires_at": now - timedelta(seconds=1)},
                {"id": 2, "body": "new", "expires_at": now + timedelta(days=1)},
            ],
        )

    def broken_compaction() -> None:
        raise RuntimeError("secret content must not be logged")

    checkpoints: list[bool] = []
    real_checkpoint = expiry.checkpoint
    monkeypatch.setattr(search, "compact", broken_compaction)
    monkeypatch.setattr(expiry, "checkpoint", lambda: checkpoints.append(True) or real_checkpoint())
    expiry.register(expiry.Expirer("alerts", alerts, returning=("id",), order=50))
    try:
        counts = expiry.delete_expired(now)
    finally:
        expiry.unregister("alerts")
    assert counts["alerts"] == 1
    assert ("alerts", {"ids": [1], "rows": [{"id": 1}]}) in received
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(alerts.c.id)).scalars().all() == [2]
    assert checkpoints == [True]  # the checkpoint still runs after a failed compaction
    assert "RuntimeError" in caplog.text and "secret content" not in caplog.text


def test_a_failing_sweep_leaves_the_rest_for_the_next_one(app, clock):
    space = make_space(chat_retention_hours=1)
    make_message(make_room(space), body="to go")
    clock.advance(hours=2)

    def broken_condition(table, now):
        return sa.text("no_such_column <= 1")

    expiry.register(expiry.Expirer("broken", ChatMessage, where=broken_condition, order=5))
    try:
        with pytest.raises(sa.exc.DBAPIError):
            expiry.delete_expired()
    finally:
        expiry.unregister("broken")
    # Nothing half-deleted: the message is still there for the next sweep.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatMessage)) == 1
    assert expiry.delete_expired()["chat"] == 1


# --- SQLite settings that decide whether deletion reaches the disk -----------------------------


class _Cursor(sqlite3.Cursor):
    swap: ClassVar[dict[str, str]] = {}

    def execute(self, sql, *args):
        return super().execute(self.swap.get(sql, sql), *args)


def _connection_factory(swap: dict[str, str]):
    class Connection(sqlite3.Connection):
        def cursor(self, *args, **kwargs):
            cursor_class = type("SwapCursor", (_Cursor,), {"swap": swap})
            return super().cursor(cursor_class)

    return Connection


@pytest.mark.parametrize(
    ("swap", "complaint"),
    [
        ({"PRAGMA secure_delete=ON": "PRAGMA secure_delete=OFF"}, "secure_delete"),
        ({"PRAGMA secure_delete=ON": "PRAGMA secure_delete=FAST"}, "secure_delete"),
        ({"PRAGMA journal_mode=WAL": "PRAGMA journal_mode=PERSIST"}, "journal_mode"),
        ({"PRAGMA temp_store=MEMORY": "PRAGMA temp_store=FILE"}, "temp_store"),
    ],
)
def test_a_connection_that_would_keep_deleted_text_is_refused(tmp_path, swap, complaint):
    factory = _connection_factory(swap)
    raw = sqlite3.connect(tmp_path / "x.db", factory=factory)
    try:
        with pytest.raises(RuntimeError, match=complaint):
            _sqlite_pragmas(raw, None)
    finally:
        raw.close()
    # Through SQLAlchemy too: the engine will not hand out such a connection.
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'y.db'}", connect_args={"factory": factory})
    try:
        with pytest.raises(RuntimeError, match=complaint), engine.connect():
            pass
    finally:
        engine.dispose()


@pytest.mark.sqlite_only("SQLite pragmas of the app's connections")
def test_the_apps_connections_have_the_settings(app):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2


@pytest.mark.sqlite_only("SQLite PRAGMA synchronous")
def test_every_commit_is_synced_before_it_returns(app):
    """synchronous=FULL (2), pinned, not left to how SQLite was compiled: an ack means stored."""
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    # A raw connection before the app's pragmas would show the build's default; after, FULL.
    raw = sqlite3.connect(":memory:")
    try:
        raw.execute("PRAGMA synchronous=OFF")
        _sqlite_pragmas(raw, None)
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        raw.close()


# --- Background task, CLI, template filter ------------------------------------------------------


def test_the_sweeper_starts_once_per_process_and_not_when_off(app, monkeypatch):
    started: list[tuple] = []
    monkeypatch.setattr(expiry.socketio, "start_background_task", lambda *a: started.append(a))
    monkeypatch.setattr(expiry, "_started", False)
    assert app.config["RB_SWEEP_INTERVAL"] == 0
    assert expiry.start_sweeper(app) is False  # tests: off
    app.config["RB_SWEEP_INTERVAL"] = 60
    assert expiry.start_sweeper(app) is True
    assert expiry.start_sweeper(app) is False
    assert started == [(expiry.sweep_forever, app, 60)]


def test_the_sweep_loop_logs_errors_without_content_and_carries_on(app, monkeypatch, caplog):
    calls = {"n": 0}

    def flaky(now=None, batch=1000):
        calls["n"] += 1
        if calls["n"] == 1:
            raise sa.exc.OperationalError("DELETE secret words", {}, Exception("locked"))
        return {"chat": 0}

    class Stop(Exception):
        pass

    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise Stop

    monkeypatch.setattr(expiry, "delete_expired", flaky)
    with pytest.raises(Stop):
        expiry.sweep_forever(app, 5, sleep=sleep)
    assert calls["n"] == 3 and sleeps == [5, 5, 5]
    assert "OperationalError" in caplog.text and "secret" not in caplog.text


def test_cli_expire_prints_counts_and_vacuums(app, clock, runner):
    space = make_space(chat_retention_hours=1)
    make_message(make_room(space), body="soon gone")
    clock.advance(hours=2)
    result = runner.invoke(args=["expire"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 expired chat." in result.output
    result = runner.invoke(args=["expire", "--vacuum"])
    assert result.exit_code == 0, result.output
    if db.engine.dialect.name == "sqlite":
        assert "sqlite: VACUUM and WAL truncated" in result.output
    else:  # VACUUM FULL table by table; nothing holds a lock here, so none is skipped
        tables = sorted({e.table.name for e in expiry.expirers()})
        assert "chat_messages" in tables
        for table in tables:
            assert f"{table}: vacuumed" in result.output


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=30), "disappears in a moment"),
        (timedelta(minutes=5), "disappears in 5 minutes"),
        (timedelta(hours=3, minutes=10), "disappears in 3 hours"),
        (timedelta(hours=47), "disappears in 47 hours"),
        (timedelta(days=5, hours=2), "disappears in 5 days"),
        (timedelta(days=2), "disappears in 2 days"),
    ],
)
def test_disappears_in_filter(app, clock, delta, text):
    template = app.jinja_env.from_string("{{ when|disappears_in }}")
    with app.test_request_context():
        assert template.render(when=clock.now() + delta) == text
        assert template.render(when=None) == ""


def test_no_content_reaches_the_log_during_a_sweep(app, clock, caplog):
    caplog.set_level(logging.DEBUG)
    space = make_space(chat_retention_hours=1)
    secret = marker("logged")
    make_message(make_room(space), body=secret)
    clock.advance(hours=2)
    expiry.delete_expired()
    assert secret not in caplog.text


@pytest.mark.parametrize(
    ("accept", "lang"), [("es-ES,es;q=0.9", "es"), ("pt", "pt"), ("de", "en"), (None, "en")]
)
def test_pages_declare_the_language_labels_are_worded_in(app, accept, lang):
    """expiry.js words its countdown with Intl in <html lang> and the page's own sentence,
    so it says what the server's disappears_in says (tests/browser/test_browser_expiry_js.py)."""
    headers = {"Accept-Language": accept} if accept else {}
    page = app.test_client().get("/login", headers=headers).get_data(as_text=True)
    assert f'<html lang="{lang}" dir="ltr" ' in page
    with app.test_request_context(), force_locale(lang):
        sentence, soon = (
            gettext("disappears %(when)s", when="{when}"),
            gettext("disappears in a moment"),
        )
    assert f'data-disappears="{sentence}"' in page and f'data-disappears-soon="{soon}"' in page
