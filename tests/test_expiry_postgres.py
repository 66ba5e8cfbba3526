"""The sweep and ``expire --vacuum`` on PostgreSQL (a unique schema per run, dropped after)."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import expiry
from forum import sealed
from forum.extensions import db
from realtime.models import ChatMessage
from tests.factories import make_message
from tests.factories import make_post
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread
from tests.support import incompressible

pytestmark = pytest.mark.postgres
URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


def test_sweep_on_postgresql_with_two_sweepers_and_vacuum(pg_app, clock):
    space = make_space(chat_retention_hours=1, post_retention_days=1)
    keep = make_space(chat_retention_hours=720, post_retention_days=365)
    room = make_room(space)
    now = clock.now()
    rows = [
        {
            "room_id": room.id,
            "space_id": space.id,
            "seq": i + 1,
            "author_name": "x",
            "body": sealed.seal_for(
                ChatMessage,
                incompressible(64),
                space_id=space.id,
                expires_at=now - timedelta(hours=1),
            ),
            "created_at": now - timedelta(hours=2),
            "expires_at": now - timedelta(hours=1),
        }
        for i in range(3000)
    ]
    with db.engine.begin() as conn:
        conn.execute(ChatMessage.__table__.insert(), rows)
    room.last_seq = 3000
    db.session.commit()
    big = make_message(room, body="to be lengthened")  # expires an hour from now: swept later
    big.body = incompressible(4096)  # past the chat limit on purpose: TOASTed
    db.session.commit()
    live = make_message(make_room(keep), body="kept")
    for i in range(10):
        make_post(
            make_thread(space, title=f"t{i}", when=now - timedelta(days=2)),
            body="reply",
            when=now - timedelta(days=2),
        )
    live_id = live.id
    db.session.close()

    results: list[dict[str, int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def sweep() -> None:
        try:
            with pg_app.app_context():
                barrier.wait()
                results.append(expiry.delete_expired(now, batch=250))
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=sweep) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert errors == []
    assert sum(r["chat"] for r in results) == 3000
    assert sum(r["posts"] for r in results) == 20
    assert sum(r["threads"] for r in results) == 10
    remaining = db.session.scalars(sa.select(ChatMessage.id)).all()
    assert live_id in remaining and len(remaining) == 2

    clock.advance(hours=2)
    result = pg_app.test_cli_runner().invoke(args=["expire", "--vacuum"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 expired chat." in result.output
    assert "chat_messages: vacuumed" in result.output and "posts: vacuumed" in result.output
