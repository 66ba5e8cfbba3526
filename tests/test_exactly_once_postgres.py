"""Several server processes, one PostgreSQL: every timer handles each due item once.

Each process runs the expiry sweeper and the check-in timer (``python -m forum``
starts both). Two real processes, each with its own connections, start together at
a barrier and race over the same due rows; what each one *announced* (the signals
that reach clients: ``checkin_alert``, ``content_expired``) is collected, and every
due item must appear exactly once across both, none twice, none missing.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import schema
from forum import sealed
from forum.app import create_app
from forum.extensions import db
from forum.safety import buddies
from forum.safety import checkins
from forum.safety.models import CheckIn
from realtime.models import ChatMessage
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_room
from tests.factories import make_space
from tests.support import base_config
from tests.support import race_in_process

pytestmark = pytest.mark.postgres

PROCESSES = 2
DUE_CHECKINS = 60
EXPIRED_CHAT = 1500


def _seed(now) -> tuple[set[int], set[int], set[int]]:
    """Due check-ins, check-ins past their note's life, expired and live chat."""
    space = make_space("open", slug="hub", name="Hub", chat_retention_hours=1)
    ana, bea = make_account("Ana"), make_account("Bea")
    add_member(space, ana)
    add_member(space, bea)
    buddies.accept(bea, buddies.ask(ana, "hub", "Bea").id)

    def checkin(deadline, expires_at) -> CheckIn:
        row = CheckIn(
            account_id=ana.id,
            space_id=space.id,
            deadline=deadline,
            note="n",
            created_at=now - timedelta(hours=30),
            expires_at=expires_at,
        )
        db.session.add(row)
        return row

    due = [
        checkin(now - timedelta(minutes=1), now + timedelta(hours=24)) for _ in range(DUE_CHECKINS)
    ]
    later = [checkin(now + timedelta(minutes=10), now + timedelta(hours=24)) for _ in range(5)]
    spent = [checkin(now - timedelta(hours=25), now - timedelta(hours=1)) for _ in range(10)]
    db.session.commit()
    room = make_room(space)
    table = ChatMessage.__table__
    rows = [
        {
            "room_id": room.id,
            "space_id": space.id,
            "seq": i + 1,
            "author_name": "x",
            "created_at": now - timedelta(hours=2),
            "expires_at": now - timedelta(minutes=1)
            if i < EXPIRED_CHAT
            else now + timedelta(hours=1),
        }
        for i in range(EXPIRED_CHAT + 100)
    ]
    for i, row in enumerate(rows):  # a Core insert bypasses the sealing flush hook
        row["body"] = sealed.seal_for(ChatMessage, f"message {i}", **row)
    with db.engine.begin() as conn:
        ids = conn.execute(table.insert().returning(table.c.id, table.c.expires_at), rows).all()
    expired_chat = {i for i, expires_at in ids if expires_at <= now}
    assert len(expired_chat) == EXPIRED_CHAT and all(r.id not in {x.id for x in later} for r in due)
    return {r.id for r in due}, {r.id for r in spent}, expired_chat


def test_two_processes_fire_each_due_checkin_and_expire_each_row_exactly_once(pg_url, tmp_path):
    app = create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=pg_url))
    with app.app_context():
        schema.upgrade_schema()
        now = db.session.scalar(sa.select(sa.func.now())).replace(microsecond=0)
        due, spent, expired_chat = _seed(now)
        db.session.remove()
        db.engine.dispose()  # no connection of ours crosses the fork
        context = multiprocessing.get_context("fork")
        start, out = context.Barrier(PROCESSES), context.Queue()
        workers = [
            context.Process(
                target=race_in_process, args=(pg_url, now.isoformat(), start, (5, 50), out)
            )
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        results = _collect(out, workers)
        for worker in workers:
            worker.join(60)
            assert worker.exitcode == 0
        alerts = Counter(i for r in results for i in r["alerts"])
        assert set(alerts) == due  # every due check-in alerted; none early, none spent
        assert max(alerts.values()) == 1  # and none twice
        chat = Counter(i for r in results for i in r.get("chat", []))
        assert set(chat) == expired_chat and max(chat.values()) == 1
        gone = Counter(i for r in results for i in r.get("checkins", []))
        assert set(gone) == spent and max(gone.values()) == 1
        # The database agrees: each due row fired, nothing else did, live rows stayed.
        db.session.rollback()
        fired = set(db.session.scalars(sa.select(CheckIn.id).where(CheckIn.fired_at.is_not(None))))
        assert fired == due
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatMessage)) == 100
        assert checkins.fire_due(now) == 0
        db.session.remove()
        db.engine.dispose()


def _collect(out, workers, timeout: float = 240.0) -> list[dict]:
    """Each worker's result; a worker that died without one fails the test at once, with
    its exit code (its traceback is in the captured stderr), instead of a 300 s wait."""
    results: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(results) < len(workers):
        try:
            results.append(out.get(timeout=1))
            continue
        except queue.Empty:
            pass
        dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
        assert not dead, f"a racing process died without its result: exit codes {dead}"
        assert time.monotonic() < deadline, f"{len(results)} of {len(workers)} results"
    return results
