"""The live channel for forum pages: watching a thread, and who hears forum news.

``watch_thread`` is the service behind the ``watch_thread`` socket event (the
``/chat`` namespace adapter calls it); the ``*_audience`` functions are the
queries ``realtime/push.py`` asks before it emits. Everything is decided here
with ``forum/access.py`` (spaces, the visible-content filter, blocks); push.py only delivers.

Why the ``/chat`` namespace: it already authenticates by the session cookie and
``Origin``, re-checks the session at every event, joins every socket to its
``account:<id>`` and ``session:<id>`` rooms and is cut by push.py on logout,
suspension and account deletion. A second namespace would need its own entries in
the socket registry to be cut the same way. ``static/js/live.js`` is loaded only
on pages without live chat, so a page never holds two connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from forum import access
from forum import clock
from forum import ratelimit
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.models import AuthSession
from forum.models import Post
from forum.models import Space
from forum.models import Thread
from forum.models import ThreadFollow
from realtime import sockets
from realtime import watches
from realtime.models import ChatSocket

CHUNK = 500  # followers per audience query; a thread with more is read in chunks
POSTS_PER_PAGE = 20  # forum/threads.py POSTS_PER_PAGE (kept equal by a test)
# Each page load or reconnect watches once; many tabs reconnecting after a restart
# stay well under this, a script hammering the database does not.
WATCH_RATE = "30 per minute"


# --- thread pages --------------------------------------------------------------------


def watch_thread(account: Account, sid: str, thread_id: object) -> int:
    """Record that ``sid`` watches a thread the account may read; returns its id.

    Raises NotFound (as for a missing thread) when the account may not read it,
    Invalid when this socket already watches too many threads, RateLimited.
    """
    ratelimit.hit(WATCH_RATE, "watch-thread", account.id)
    thread, _acc = access.access_thread(account, thread_id)
    if db.session.get(watches.ThreadWatch, (sid, thread.id)) is None and (
        watches.count_of(sid) >= watches.MAX_PER_SOCKET
    ):
        raise Invalid("This page is following too many threads at once. Please reload it.")
    watches.add(sid, thread.id, thread.space_id)
    return thread.id


def recheck_watch(account: Account, sid: str, thread_id: int) -> None:
    """Still allowed after joining the room? Closes the race with a removal in between.

    A removal that committed before this check is seen here; one that commits after
    it finds the watch row already recorded and takes the socket out of the room.
    """
    try:
        access.access_thread(account, thread_id)
    except NotFound:
        watches.remove(sid, thread_id)
        raise


def unwatch_thread(sid: str, thread_id: object) -> int | None:
    """Stop watching (always allowed: it only removes this socket's own record).

    Idempotent: a thread this socket does not watch, missing or not, hidden or not, and
    a value that could name no thread all answer the same. None when it names nothing.
    """
    try:
        thread_id = access.row_id(thread_id)
    except NotFound:
        return None
    watches.remove(sid, thread_id)
    return thread_id


def lost_access(account_id: int, space_id: int) -> list[tuple[str, int]]:
    """After a membership ended: the account's (sid, thread) watches it may no longer read.

    They are forgotten here; push.py takes those sockets out of the rooms. Open
    spaces stay readable to everyone signed in, so those watches are kept.
    """
    pairs = watches.of_account_in_space(account_id, space_id)
    if not pairs:
        return []
    account = db.session.get(Account, account_id)
    allowed: dict[int, bool] = {}
    for _sid, thread_id in pairs:
        if thread_id not in allowed:
            try:
                access.access_thread(account, thread_id)
                allowed[thread_id] = True
            except NotFound:
                allowed[thread_id] = False
    gone = [(sid, thread_id) for sid, thread_id in pairs if not allowed[thread_id]]
    watches.forget(gone)
    return gone


def new_reply_audience(post_id: int) -> tuple[Post, int, list[str]] | None:
    """For a new reply: the post, its page for an ordinary reader, and watchers to skip.

    None when nobody but moderators may see it (a hidden post or thread). Skipped:
    the author's own sockets, and those of watchers who blocked the author or the
    thread's author (their page of that thread shows none of it).
    """
    post = _public_post(post_id)
    if post is None:
        return None
    before = (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Post.thread_id == post.thread_id,
                Post.id <= post.id,
                access.visible(None, Post),
            )
        )
        or 1
    )
    page = -(-before // POSTS_PER_PAGE)
    skip: list[str] = []
    thread = db.session.get(Thread, post.thread_id)
    if post.author_id is not None or thread.author_id is not None:
        skip = list(
            db.session.scalars(
                sa.select(watches.ThreadWatch.sid)
                .join(ChatSocket, ChatSocket.sid == watches.ThreadWatch.sid)
                .where(
                    watches.ThreadWatch.thread_id == post.thread_id,
                    sa.or_(
                        ChatSocket.account_id == post.author_id,
                        access.blocked(ChatSocket.account_id, post),
                        access.blocked(ChatSocket.account_id, thread),
                    ),
                )
                .limit(1000)
            )
        )
    return post, page, skip


def _public_post(post_id: int) -> Post | None:
    """The post, if an ordinary reader of its space may see it (live, not hidden, in a
    live thread that is not hidden)."""
    return db.session.scalar(
        sa.select(Post)
        .join(Thread, Thread.id == Post.thread_id)
        .where(Post.id == post_id, access.visible(None, Post), access.visible(None, Thread))
    )


# --- the updates list ----------------------------------------------------------------


@dataclass
class FollowerUpdate:
    """One online follower to tell, and how many replies are new to them."""

    account_id: int
    new_posts: int


def update_audience(post_id: int) -> tuple[Thread, Space, list[FollowerUpdate]] | None:
    """Online followers of the post's thread who may read it and should hear of it.

    One query per ``CHUNK`` followers, joined with the socket registry: followers
    with a fresh socket of a live session, who may read the space, are not the
    author, have not seen the post yet, and have not blocked its author or the
    thread's (as the updates list). None when the post is hidden (then the updates
    list leaves it out too).
    """
    post = _public_post(post_id)
    if post is None:
        return None
    thread = db.session.get(Thread, post.thread_id)
    space = db.session.get(Space, thread.space_id)
    conditions = [
        ThreadFollow.thread_id == thread.id,
        ThreadFollow.last_seen_post_id < post.id,
        sa.exists().where(ChatSocket.account_id == ThreadFollow.account_id, _online()),
    ]
    if post.author_id is not None:
        conditions.append(ThreadFollow.account_id != post.author_id)
    conditions += [
        sa.not_(access.blocked(ThreadFollow.account_id, post)),
        sa.not_(access.blocked(ThreadFollow.account_id, thread)),
        access.may_read(ThreadFollow.account_id, space),
    ]
    # Counted as the updates page counts them (forum/threads.py ``updates``).
    new_posts = (
        sa.select(sa.func.count(Post.id))
        .where(
            Post.thread_id == thread.id,
            Post.id > ThreadFollow.last_seen_post_id,
            access.visible(ThreadFollow.account_id, Post),
        )
        .correlate(ThreadFollow)
        .scalar_subquery()
    )
    found: list[FollowerUpdate] = []
    after = 0
    while True:
        rows = db.session.execute(
            sa.select(ThreadFollow.account_id, new_posts)
            .where(*conditions, ThreadFollow.account_id > after)
            .order_by(ThreadFollow.account_id)
            .limit(CHUNK)
        ).all()
        found += [FollowerUpdate(account_id, max(1, n or 0)) for account_id, n in rows]
        if len(rows) < CHUNK:
            return thread, space, found
        after = rows[-1][0]


def _online() -> sa.ColumnElement[bool]:
    """A ``ChatSocket`` row that is fresh and belongs to a live session (any process's)."""
    now = clock.now()
    idle = timedelta(days=current_app.config["RB_SESSION_IDLE_DAYS"])
    return sa.and_(
        ChatSocket.seen_at > now - sockets.STALE,
        AuthSession.id == ChatSocket.auth_session_id,
        AuthSession.expires_at > now,
        AuthSession.last_seen_at > now - idle,
    )


# --- a space's thread list -------------------------------------------------------------


def new_thread_audience(thread_id: int) -> tuple[Thread, list[int]] | None:
    """For a new thread: the accounts online now that should see it in its space's thread
    list: they may read the space, did not write it, and have not blocked its author (as
    the list itself). None when an ordinary reader would not see it (held, hidden, expired).

    One query per ``CHUNK`` accounts, over the socket registry: in an open space that is
    everyone online, which is why the event carries ids only.
    """
    thread = db.session.scalar(
        sa.select(Thread).where(Thread.id == thread_id, access.visible(None, Thread))
    )
    if thread is None:
        return None
    space = db.session.get(Space, thread.space_id)
    conditions = [
        _online(),
        access.may_read(ChatSocket.account_id, space),
        sa.not_(access.blocked(ChatSocket.account_id, thread)),
    ]
    if thread.author_id is not None:
        conditions.append(ChatSocket.account_id != thread.author_id)
    found: list[int] = []
    after = 0
    while True:
        rows = list(
            db.session.scalars(
                sa.select(ChatSocket.account_id)
                .where(*conditions, ChatSocket.account_id > after)
                .group_by(ChatSocket.account_id)
                .order_by(ChatSocket.account_id)
                .limit(CHUNK)
            )
        )
        found += rows
        if len(rows) < CHUNK:
            return thread, found
        after = rows[-1]
