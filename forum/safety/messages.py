"""Direct messages between buddies: stored, then acknowledged, like chat.

Only the two sides of an accepted pairing read or write them. A message is stored
first (its sender's ``client_id`` makes a retry after a lost ack harmless), then the
other side hears it live (``signals.dm_created`` -> ``realtime/push.py``). Messages
expire after the pairing's ``dm_hours`` (7 days unless either side shortened it),
go when the pairing ends, and with either account (ON DELETE CASCADE). A message
can be flagged (the moderators of the buddies' shared space see it) and its author
blocked; once either side has blocked the other, nothing more passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from forum import access
from forum import clock
from forum import ratelimit
from forum import signals
from forum import text
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.safety import buddies
from forum.safety.models import Buddy
from forum.safety.models import DirectMessage

MAX_BODY = 2000
SEND_RATE = "30 per minute"
PAGE = 200
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


def _client_id(raw: object) -> str:
    if not isinstance(raw, str) or not _CLIENT_ID.match(raw):
        raise Invalid("That message had no valid id. Please reload the page and send it again.")
    return raw


def _open_pairing(actor: Account, buddy_id: object) -> Buddy:
    """An accepted pairing of the actor's in which nobody has blocked the other."""
    row = buddies.access_buddy(actor, buddy_id)
    if buddies.blocked_pair(row):
        raise NotFound()
    return row


def send(
    actor: Account, buddy_id: object, client_id: object, body: object
) -> tuple[DirectMessage, bool]:
    """Store a message to the other buddy; ``(message, new)``.

    A repeated client id returns the message first stored under it."""
    row = _open_pairing(actor, buddy_id)
    client_id = _client_id(client_id)
    existing = db.session.scalar(
        sa.select(DirectMessage).where(
            DirectMessage.author_id == actor.id, DirectMessage.client_id == client_id
        )
    )
    if existing is not None:
        if existing.buddy_id != row.id:
            raise Invalid("That message id was already used. Please reload the page.")
        return existing, False
    body = text.clean(body, "message", MAX_BODY, multiline=True)
    ratelimit.hit(SEND_RATE, "dm", actor.id)
    now = clock.now()
    message = DirectMessage(
        buddy_id=row.id,
        space_id=row.space_id,
        author_id=actor.id,
        author_name=buddies.name_in(row.space_id, actor.id)[:64],
        client_id=client_id,
        body=body,
        created_at=now,
        expires_at=now + timedelta(hours=row.dm_hours),
    )
    db.session.add(message)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()  # the same client id raced itself: the first one won
        first = db.session.scalar(
            sa.select(DirectMessage).where(
                DirectMessage.author_id == actor.id, DirectMessage.client_id == client_id
            )
        )
        if first is None:
            raise
        return first, False
    signals.dm_created.send(message.id, account_ids=[row.other(actor.id)])
    return message, True


@dataclass
class Conversation:
    pairing: Buddy
    name: str  # the other's name
    messages: list[DirectMessage]
    more: bool


def conversation(actor: Account, buddy_id: object, after_id: object = 0) -> Conversation:
    """Live messages of a pairing, oldest first, after ``after_id`` (at most ``PAGE``)."""
    row = buddies.access_buddy(actor, buddy_id)
    after_id = access.cursor_id(after_id)
    query = (
        sa.select(DirectMessage)
        .where(
            DirectMessage.buddy_id == row.id,
            DirectMessage.id > after_id,
            access.visible(actor, DirectMessage, own_hidden=True),
        )
        .order_by(DirectMessage.id)
        .limit(PAGE + 1)
    )
    rows = list(db.session.scalars(query))
    return Conversation(
        row, buddies.name_in(row.space_id, row.other(actor.id)), rows[:PAGE], len(rows) > PAGE
    )


def access_message(
    actor: Account | None, message_id: object
) -> tuple[DirectMessage, access.SpaceAccess]:
    """A live message between the actor and a buddy; NotFound otherwise (flags, blocks)."""
    if actor is None:
        raise NotFound()
    message_id = access.row_id(message_id)
    message = db.session.get(DirectMessage, message_id)
    if message is None or not access.shows(actor, message, own_hidden=True):
        raise NotFound()
    buddies.access_buddy(actor, message.buddy_id)
    acc = access.access_space_by_id(actor, message.space_id)
    if not acc.is_member:
        raise NotFound()
    return message, acc


def message_dict(message: DirectMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "buddy_id": message.buddy_id,
        "client_id": message.client_id,
        "author_name": message.author_name,
        "body": message.body,
        "created_at": message.created_at.isoformat(),
        "expires_at": message.expires_at.isoformat(),
    }
