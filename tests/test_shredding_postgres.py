"""Expiry reaches PostgreSQL's disk: crypto-shredding, proved on the raw files.

PostgreSQL keeps deleted rows in table files until VACUUM FULL and in WAL until the
segments are recycled. Expiring text is therefore stored sealed under a key per
retention epoch (forum/sealed.py); the sweep destroys the key when the epoch ends.
A seized server then holds ciphertext it cannot open. The test writes markers through
the services, expires them with the real sweep, checkpoints, and reads the database's
own files and every WAL segment byte by byte (a unique database per run, dropped after).

Positive controls, since live text is sealed too: a plain marker written to a scratch
table in the same database is found (the scan reads the right files, WAL included),
and live sealed content still reads back through the app.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import current_app

from forum import expiry
from forum import schema
from forum import sealed
from forum import search
from forum.app import create_app
from forum.extensions import db
from realtime.models import ChatMessage
from tests.factories import add_member
from tests.factories import make_message
from tests.factories import make_post
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread
from tests.factories import owner_of
from tests.support import base_config
from tests.support import incompressible
from tests.support import letters
from tests.support import needs_service
from tests.support import postgres_disk_bytes
from tests.support import tail

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_db_app(pg_url, tmp_path):
    application = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url))
    with application.app_context():
        schema.upgrade_schema()
        yield application
        db.session.remove()
        db.engine.dispose()


def _stored(table: str, column: str, row_id: int) -> str:
    """The value as the database holds it: what a backup or a dead tuple keeps."""
    return db.session.execute(
        sa.text(f"SELECT {column} FROM {table} WHERE id = :id"),  # nosec B608: test constants
        {"id": row_id},
    ).scalar_one()


def _key_bytes(kid: int) -> bytes:
    with sqlite3.connect(current_app.config["RB_VAULT_PATH"]) as raw:
        row = raw.execute("SELECT key FROM seal_keys WHERE id = ?", (kid,)).fetchone()
    return bytes(row[0])


def _vault_bytes() -> bytes:
    path = current_app.config["RB_VAULT_PATH"]
    files = (Path(path), Path(path + "-wal"), Path(path + "-shm"))
    return b"".join(f.read_bytes() for f in files if f.exists())


def test_expired_text_is_unreadable_on_postgresql_disk(pg_db_app, clock):
    short = make_space(chat_retention_hours=1, post_retention_days=1)
    keep = make_space(chat_retention_hours=720, post_retention_days=365)
    owner = owner_of(keep)
    add_member(short, owner)
    room, live_room = make_room(short), make_room(keep)
    gone, gone_long, kept = letters("zg"), letters("zl") + incompressible(3000), letters("zk")
    title, body, reply, warning = letters("zt"), letters("zb"), letters("zr"), letters("zw")
    live_post = letters("zq")

    message = make_message(room, body=f"meet at {gone} tonight")
    long_message = make_message(room, body=gone_long[:2000])  # out of line in TOAST
    live = make_message(live_room, body=f"still here {kept}")
    thread = make_thread(short, title=f"About {title}", body=f"first {body}")
    answer = make_post(thread, body=f"a reply {reply}", content_warning=f"cw {warning}")
    make_thread(keep, title="kept thread", body=f"kept {live_post}")
    assert [hit.thread_id for hit in search.search(owner, body).hits] == [thread.id]
    stored = [_stored("chat_messages", "body", m.id) for m in (message, long_message)]
    stored += [_stored("threads", "title", thread.id), _stored("posts", "body", answer.id)]
    stored += [_stored("posts", "content_warning", answer.id)]
    expired = (gone, gone_long[:24], title, body, reply, warning)
    assert all(value.startswith(sealed.MAGIC) for value in stored)
    kid = int(stored[0].split(".")[1])
    key = _key_bytes(kid)
    # A plain marker beside the sealed ones: the positive control for the scan.
    control = letters("zp")
    with db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE scan_control (t text)")
        connection.execute(sa.text("INSERT INTO scan_control VALUES (:t)"), {"t": control})

    with db.engine.connect() as connection:
        before = postgres_disk_bytes(connection)
    needs_service("PostgreSQL's data folder (raw-bytes scan)", before is not None, "unreadable")
    assert tail(control) in before  # the scan reads this database's files and WAL
    # Live or not, sealed text never reaches PostgreSQL in plain form (nor its index).
    for marker in (*expired, kept, live_post):
        assert tail(marker) not in before
    assert key in _vault_bytes()
    assert tail(body) in _vault_bytes()  # the search index holds live words, in the vault

    clock.advance(days=2, minutes=1)
    counts = expiry.sweep_once(pg_db_app)
    assert (counts["chat"], counts["posts"], counts["threads"]) == (2, 2, 1)
    db.session.expire_all()

    with db.engine.connect() as connection:
        after = postgres_disk_bytes(connection)
    assert tail(control) in after
    for marker in (*expired, kept, live_post):
        assert after.count(tail(marker)) == 0
    # What a backup or a dead tuple kept can no longer be opened: the keys are gone,
    # from the vault's files too (secure_delete zeroed them; the WAL was truncated),
    # and so are the expired words of the search index.
    assert all(sealed.vault().open(value) == sealed.SHREDDED for value in stored)
    vault_after = _vault_bytes()
    assert key not in vault_after
    for marker in expired:
        assert tail(marker) not in vault_after
    # Live content still reads back through the app, and is still found.
    assert db.session.get(ChatMessage, live.id).body == f"still here {kept}"
    assert [hit.thread_title for hit in search.search(owner, live_post).hits] == ["kept thread"]
    assert tail(live_post) in vault_after
