"""Crypto-shredding on SQLite (the same code path as PostgreSQL): sealed at rest, re-keyed
when the expiry moves, unreadable once the sweep destroyed the epoch's key.

The PostgreSQL raw-bytes proof is tests/test_shredding_postgres.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import expiry
from forum import retention
from forum import sealed
from forum.extensions import db
from realtime.models import ChatMessage
from tests.factories import make_message
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import owner_of
from tests.support import letters


def _raw(model, column: str, row_id: int) -> str:
    with db.engine.connect() as connection:
        return connection.execute(
            sa.text(f"SELECT {column} FROM {model.__tablename__} WHERE id = :id"),  # nosec B608: test constants
            {"id": row_id},
        ).scalar_one()


def _kid(stored: str) -> int:
    return int(stored[len(sealed.MAGIC) :].split(".")[0])


def test_a_chat_body_is_sealed_at_rest_and_reads_back_plain(app):
    room = make_room(make_space(chat_retention_hours=2))
    text = f"see you at {letters('zm')}"
    message = make_message(room, body=text)
    stored = _raw(ChatMessage, "body", message.id)
    assert stored.startswith(sealed.MAGIC) and text not in stored
    db.session.expire_all()
    assert db.session.get(ChatMessage, message.id).body == text


def test_messages_of_one_space_and_hour_share_a_key_and_other_spaces_do_not(app):
    one, two = make_space(chat_retention_hours=2), make_space(chat_retention_hours=2)
    room_one, room_two = make_room(one), make_room(two)
    a, b = make_message(room_one, body="a"), make_message(room_one, body="b")
    c = make_message(room_two, body="c")
    kids = [_kid(_raw(ChatMessage, "body", m.id)) for m in (a, b, c)]
    assert kids[0] == kids[1] != kids[2]


def test_plain_text_cannot_reach_a_sealed_column_by_a_core_write(app):
    room = make_room(make_space())
    message = make_message(room, body="hello")
    with pytest.raises(sa.exc.StatementError, match="plain text for a sealed column"):
        db.session.execute(
            sa.update(ChatMessage).where(ChatMessage.id == message.id).values(body="in the clear")
        )
    db.session.rollback()


def test_a_shortened_life_moves_the_text_to_the_earlier_epochs_key(app, clock):
    space = make_space(chat_retention_hours=48)
    room = make_room(space)
    message = make_message(room, body="moved along")
    before = _kid(_raw(ChatMessage, "body", message.id))
    retention.set_retention(owner_of(space), space, 1, 30, apply_to_existing=True)
    db.session.expire_all()
    moved = db.session.get(ChatMessage, message.id)
    assert moved.expires_at == clock.now() + timedelta(hours=1)
    copy = _raw(ChatMessage, "body", message.id)
    assert _kid(copy) != before
    assert moved.body == "moved along"
    # Its new key goes when the earlier epoch ends, not two days later.
    clock.advance(hours=2)
    expiry.delete_expired(clock.now())
    assert sealed.vault().open(copy) == sealed.SHREDDED


def test_the_sweep_destroys_an_ended_epochs_key_and_keeps_the_rest(app, clock):
    short, long = make_space(chat_retention_hours=1), make_space(chat_retention_hours=720)
    gone = make_message(make_room(short), body="gone soon")
    kept = make_message(make_room(long), body="kept a month")
    copy = _raw(ChatMessage, "body", gone.id)  # what a PostgreSQL dead tuple or backup keeps
    assert sealed.vault().open(copy) == "gone soon"
    clock.advance(hours=1)
    expiry.delete_expired(clock.now())  # the message is due, but its hour is not over
    clock.advance(hours=1)
    expiry.delete_expired(clock.now())
    assert sealed.vault().open(copy) == sealed.SHREDDED
    db.session.expire_all()
    assert db.session.get(ChatMessage, kept.id).body == "kept a month"
    assert sealed.vault().key_count() == 1
