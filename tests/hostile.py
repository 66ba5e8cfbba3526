"""Shared by the hostile-input and "not there" tests: an app on SQLite or PostgreSQL, a
socket client, and a small world with a hidden space a stranger must learn nothing about."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from forum import accounts
from forum import clock
from forum import invites
from forum import schema
from forum.app import create_app
from forum.extensions import db
from forum.models import Account
from forum.models import JoinRequest
from forum.models import Space
from forum.safety import baddates
from forum.safety import checkins
from forum.safety import messages
from forum.safety import rights
from forum.safety.models import Buddy
from forum.safety.models import UrgentAlert
from moderation import actions
from moderation import appeals
from moderation import blocks
from moderation import watchwords
from moderation.models import ModAction
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_message
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread
from tests.support import PASSPHRASE
from tests.support import TEST_DATABASE_URL
from tests.support import IsolatedClient
from tests.support import base_config
from tests.support import needs_service

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
# Ids and names that do not exist: the answer to these is what "not there" looks like.
MISSING_ID = 999_999
MISSING_SLUG = "no-such-space"


@contextlib.contextmanager
def backend_app(
    kind: str, folder: Path, template_db: Path | None = None, **extra: Any
) -> Iterator[Flask]:
    """A migrated app on a fresh database of ``kind`` ("sqlite" or "postgres"), context pushed."""
    schema_name = None
    admin = None
    if kind == "sqlite":
        if template_db is not None:
            shutil.copy(template_db, folder / "test.db")
        config = base_config(folder, **extra)
    else:
        try:
            admin = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                schema_name = "rb_hostile_" + secrets.token_hex(6)
                connection.execute(sa.text(f'CREATE SCHEMA "{schema_name}"'))
        except Exception as error:
            needs_service("PostgreSQL", False, type(error).__name__)
        url = sa.engine.make_url(TEST_DATABASE_URL).update_query_dict(
            {"options": f"-csearch_path={schema_name}"}
        )
        config = base_config(
            folder, SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False), **extra
        )
    application = create_app(config)
    application.test_client_class = IsolatedClient
    try:
        with application.app_context():
            if kind != "sqlite" or template_db is None:
                schema.upgrade_schema()
            yield application
            db.session.remove()
            db.engine.dispose()
    finally:
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema_name}" CASCADE'))
            admin.dispose()


def ack_text(ack: object, sent: dict[str, Any]) -> str:
    """An ack as canonical JSON, with the ids the client sent masked (some acks echo them)."""
    raw = json.dumps(ack, sort_keys=True)
    for value in sent.values():
        if isinstance(value, int) and not isinstance(value, bool):
            raw = re.sub(rf"(?<![0-9]){value}(?![0-9])", "<id>", raw)
    return raw


class ErrorLog(logging.Handler):
    """Collects every log record at ERROR or above, from every logger."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def summary(self) -> list[str]:
        return [
            f"{r.name}: {r.getMessage()} {r.exc_info[0].__name__ if r.exc_info else ''}"
            for r in self.records
        ]


@contextlib.contextmanager
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


@dataclass
class World:
    """Who and what the tests point at. ``hidden`` is a space only its members know of."""

    ids: dict[str, Any] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.ids[key]


def build_world() -> World:
    """Owner Olu runs a hidden space where Xan is a member; Fred, a stranger, owns an open one.

    Everything a route or event can name is made inside the hidden space (a room, a
    thread and its post, a chat message, a membership, an invite, a join request, a
    watched word, a moderator's action against Xan and Xan's appeal), plus things that
    belong to Xan alone (a block, a session), so that Fred can ask for each of them.
    """
    olu, xan = make_account("Olu.Owner"), make_account("Xan.Member")
    fred, asker = make_account("Fred.Stranger"), make_account("Ask.Er")
    hidden = make_space("hidden", owner=olu, name="Hidden circle")
    membership = add_member(hidden, xan)
    own = make_space("open", owner=fred, name="Fred open")
    add_member(own, xan)
    topic = make_thread(hidden, xan, title="Hidden topic", body="hidden body words")
    post_id = db.session.scalar(
        sa.text("SELECT id FROM posts WHERE thread_id = :t"), {"t": topic.id}
    )
    room = make_room(hidden)
    message = make_message(room, xan, "hello hidden")
    own_room = make_room(own)
    invite = spaces_invite(olu, hidden.slug)
    request_id = join_request(hidden, asker)
    word_id = add_word(olu, hidden.slug)
    actions.hide(olu, hidden.slug, "post", post_id, "test hide")
    action_id = db.session.scalar(sa.select(ModAction.id).where(ModAction.action == "hide"))
    appeal = appeals.appeal(xan, action_id, "It was fine.")
    block = blocks.block(xan, "chat", make_message(own_room, fred, "hello from fred").id)
    session = accounts.log_in(xan.alias, PASSPHRASE).session
    report = baddates.file_report(
        xan,
        hidden.slug,
        happened_on=(clock.now() - timedelta(days=2)).date().isoformat(),
        part_of_day="night",
        area="Riverside",
        categories=["violence"],
        body="Turned nasty.",
        typed=baddates.Typed("+44 7700 900123", "", "", ""),
    )
    # The safety tools, inside the hidden space: Xan and Olu are buddies there, with a
    # direct message and a running check-in; an urgent alert; a rights page.
    now = clock.now()
    buddy = Buddy(
        requester_id=xan.id, invitee_id=olu.id, space_id=hidden.id, created_at=now, accepted_at=now
    )
    db.session.add(buddy)
    db.session.commit()
    dm = messages.send(xan, buddy.id, "client-world-dm-1", "hello buddy")[0]
    checkin = checkins.start(xan, minutes=30, buddy_ids=[buddy.id], note="at the usual place")
    alert = UrgentAlert(
        space_id=hidden.id,
        author_id=xan.id,
        author_name="Xan",
        body="Vans on the ring road",
        created_at=now,
        expires_at=now + timedelta(hours=12),
    )
    db.session.add(alert)
    db.session.commit()
    page = rights.create_page(olu, hidden.slug, title="Know your rights", body="Stay calm.")
    world = World()
    world.ids.update(
        buddy=buddy.id,
        dm=dm.id,
        checkin=checkin.id,
        alert=alert.id,
        page=page.slug,
        olu=olu.id,
        xan=xan.id,
        fred=fred.id,
        hidden=hidden.slug,
        own=own.slug,
        room=room.id,
        own_room=own_room.id,
        thread=topic.id,
        post=post_id,
        chat=message.id,
        membership=membership.id,
        invite=invite,
        request=request_id,
        word=word_id,
        action=action_id,
        appeal=appeal.id,
        block=block.id,
        session=session.id,
        report=report.id,
    )
    world.aliases.update(olu=olu.alias, xan=xan.alias, fred=fred.alias)
    return world


def spaces_invite(owner: Account, slug: str) -> int:
    return invites.create_invite(owner, slug, max_uses=None).invite.id


def join_request(space: Space, account: Account) -> int:
    row = JoinRequest(space_id=space.id, account_id=account.id, answer="", created_at=clock.now())
    db.session.add(row)
    db.session.commit()
    return row.id


def add_word(owner: Account, slug: str) -> int:
    return watchwords.add_word(owner, slug, "zebra", "flag").id
