"""Rows for the expiry tests, written directly with the models (no other services needed)."""

from __future__ import annotations

import secrets
import string
from datetime import datetime
from itertools import count

from forum import aliases
from forum import clock
from forum import retention
from forum.extensions import db
from forum.models import Account
from forum.models import Membership
from forum.models import Post
from forum.models import Space
from forum.models import Thread
from realtime.models import ChatMessage
from realtime.models import ChatRoom

_ids = count(1)


def marker(label: str = "m") -> str:
    """A unique word no test data contains by chance (its tail is what we grep for)."""
    return f"{label}{secrets.token_hex(16)}"


def incompressible(size: int = 8192) -> str:
    """Random printable text: defeats any compression (SQLite has none; TOAST does)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(size))


def make_space(owner: Account | None = None, *, kind: str = "open", chat_hours: int = 24,
               post_days: int | None = 90, slug: str | None = None) -> Space:
    now = clock.now()
    space = Space(slug=slug or f"space-{next(_ids)}", name="A space", kind=kind, created_at=now,
                  chat_retention_hours=chat_hours, post_retention_days=post_days)
    db.session.add(space)
    db.session.flush()
    # The ORM leaves a None out of the INSERT when the column has a default (90): set it after.
    space.post_retention_days = post_days
    db.session.flush()
    if owner is not None:
        join(space, owner, "owner")
    db.session.commit()
    return space


def join(space: Space, account: Account, role: str = "member") -> Membership:
    membership = Membership(space_id=space.id, account_id=account.id, role=role,
                            name_key=aliases.alias_skeleton(account.alias), joined_at=clock.now())
    db.session.add(membership)
    db.session.commit()
    return membership


def make_thread(space: Space, title: str = "A thread", body: str = "First post",
                author: Account | None = None, when: datetime | None = None) -> Thread:
    now = when or clock.now()
    thread = Thread(space_id=space.id, author_id=author.id if author else None, author_name="someone",
                    title=title, created_at=now, last_post_at=now,
                    expires_at=retention.thread_expires_at(space, now))
    db.session.add(thread)
    db.session.flush()
    make_post(thread, body, author=author, when=now, first=True)
    return thread


def make_post(thread: Thread, body: str, author: Account | None = None, when: datetime | None = None,
              first: bool = False) -> Post:
    now = when or clock.now()
    space = db.session.get(Space, thread.space_id)
    post = Post(thread_id=thread.id, space_id=thread.space_id, author_id=author.id if author else None,
                author_name="someone", body=body, is_first=first, created_at=now,
                expires_at=retention.post_expires_at(space, now, thread))
    db.session.add(post)
    db.session.commit()
    return post


def make_room(space: Space) -> ChatRoom:
    room = ChatRoom(space_id=space.id, name="general", created_at=clock.now())
    db.session.add(room)
    db.session.commit()
    return room


def make_message(room: ChatRoom, body: str, when: datetime | None = None) -> ChatMessage:
    now = when or clock.now()
    room.last_seq += 1
    space = db.session.get(Space, room.space_id)
    message = ChatMessage(room_id=room.id, space_id=room.space_id, seq=room.last_seq, author_name="someone",
                          body=body, created_at=now, expires_at=retention.chat_expires_at(space, now))
    db.session.add(message)
    db.session.commit()
    return message


def sweep_in_process(database: str, now_iso: str, batch: int) -> dict[str, int]:
    """Run in a child process: build an app on the same SQLite file and sweep it."""
    from forum import expiry  # noqa: PLC0415 - a fresh process imports what it needs
    from forum.app import create_app  # noqa: PLC0415

    app = create_app({
        "TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "RB_ASYNC_MODE": "threading", "RB_SWEEP_INTERVAL": 0, "RATELIMIT_STORAGE_URI": "memory://",
    })
    with app.app_context():
        return expiry.delete_expired(datetime.fromisoformat(now_iso), batch=batch)
