"""Small factories for moderation tests: spaces, memberships, threads, posts, chat."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from forum import clock
from forum.extensions import db
from forum.models import Account
from forum.models import Membership
from forum.models import Post
from forum.models import Space
from forum.models import Thread
from realtime.models import ChatMessage
from realtime.models import ChatRoom

_n = count(1)


def make_space(slug: str | None = None, kind: str = "open", threshold: int = 3, names_mods: bool = False) -> Space:
    space = Space(slug=slug or f"space{next(_n)}", name=f"Space {next(_n)}", kind=kind,
                  created_at=clock.now(), flag_threshold=threshold, modlog_names_moderator=names_mods)
    db.session.add(space)
    db.session.commit()
    return space


def join(account: Account, space: Space, role: str = "member", alias: str | None = None) -> Membership:
    membership = Membership(space_id=space.id, account_id=account.id, role=role, space_alias=alias,
                            name_key=f"k{next(_n)}", joined_at=clock.now())
    db.session.add(membership)
    db.session.commit()
    return membership


def make_thread(space: Space, author: Account, title: str = "A thread", body: str = "First post") -> Thread:
    now = clock.now()
    thread = Thread(space_id=space.id, author_id=author.id, author_name=author.alias, title=title,
                    created_at=now, last_post_at=now, expires_at=now + timedelta(days=90))
    db.session.add(thread)
    db.session.flush()
    db.session.add(Post(thread_id=thread.id, space_id=space.id, author_id=author.id, author_name=author.alias,
                        body=body, is_first=True, created_at=now, expires_at=thread.expires_at))
    db.session.commit()
    return thread


def make_post(thread: Thread, author: Account, body: str = "A reply", name: str | None = None) -> Post:
    now = clock.now()
    post = Post(thread_id=thread.id, space_id=thread.space_id, author_id=author.id,
                author_name=name or author.alias, body=body, created_at=now, expires_at=thread.expires_at)
    db.session.add(post)
    db.session.commit()
    return post


def make_room(space: Space, name: str = "lounge") -> ChatRoom:
    room = ChatRoom(space_id=space.id, name=name, created_at=clock.now())
    db.session.add(room)
    db.session.commit()
    return room


def make_chat(room: ChatRoom, author: Account, body: str = "hello", name: str | None = None) -> ChatMessage:
    now = clock.now()
    room.last_seq += 1
    message = ChatMessage(room_id=room.id, space_id=room.space_id, seq=room.last_seq, author_id=author.id,
                          author_name=name or author.alias, body=body, created_at=now,
                          expires_at=now + timedelta(hours=24))
    db.session.add(message)
    db.session.commit()
    return message


def season(account: Account, thread: Thread, posts: int = 5, days: int = 10) -> Account:
    """Make an account trust level 1 (member): old enough, with enough posts."""
    account.created_at = clock.now() - timedelta(days=days)
    db.session.commit()
    for i in range(posts):
        make_post(thread, account, f"post {i}")
    return account
