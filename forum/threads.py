"""Forum services: threads, replies, edits, deletion, follows, updates.

Pinning and locking are moderation actions, logged (``moderation/actions.py``).

Every service authorises through ``forum/access.py`` first, validates, writes,
commits once, then sends a signal from ``forum/signals.py``.

Names: a thread or post keeps ``author_name``, the name its author showed in the
space when writing (their space alias or everyday alias), so pages never look up
an author's other name.

Deleting a post is a hard delete. The first post of a thread is the thread's
body: with no replies, deleting it deletes the whole thread; with replies from
others, the conversation stays, so the first post's text, content warning and
name are erased (the body becomes a short note, the author becomes "[deleted]",
with no link back) and the title remains for the replies' sake.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from forum import access
from forum import clock
from forum import disk
from forum import markdown
from forum import retention
from forum import screening
from forum import search
from forum import signals
from forum import standing
from forum import text
from forum.dbtypes import UTCDateTime
from forum.errors import Forbidden
from forum.extensions import db
from forum.models import DELETED_NAME
from forum.models import Account
from forum.models import Membership
from forum.models import Post
from forum.models import Space
from forum.models import Thread
from forum.models import ThreadFollow
from forum.pagination import Page
from forum.pagination import paged
from forum.pagination import paginate

THREADS_PER_PAGE = 25
POSTS_PER_PAGE = 20
MAX_CW = 150
ERASED_BODY = "*This post was deleted by its author.*"
# A thread whose author deleted their account with everything they wrote, kept for others' replies.
ERASED_TITLE = "[deleted]"


def _title(raw: object) -> str:
    return text.clean(raw, _("title"), markdown.MAX_TITLE_CHARS)


def _body(raw: object) -> str:
    return text.clean(raw, _("post"), markdown.MAX_POST_CHARS, multiline=True)


def _cw(raw: object) -> str | None:
    return text.clean(raw, _("content warning"), MAX_CW, required=False) or None


# --- reading --------------------------------------------------------------------


def list_threads(actor: Account, slug: object, page: int = 1) -> tuple[access.SpaceAccess, Page]:
    """Live threads, pinned first, then by latest post. Moderators also see hidden ones;
    nobody sees threads started by someone they blocked."""
    acc = access.access_space(actor, slug)
    query = sa.select(Thread).where(
        Thread.space_id == acc.space.id,
        access.visible(actor, Thread, moderator=acc.has_role("moderator")),
    )
    query = query.order_by(Thread.pinned.desc(), Thread.last_post_at.desc(), Thread.id.desc())
    return acc, paginate(query, page, THREADS_PER_PAGE)


@dataclass
class BlockedGap:
    """Posts from people the viewer blocked, in a row: shown as one line, never their text."""

    count: int
    is_gap: bool = True


@dataclass
class ThreadView:
    thread: Thread
    access: access.SpaceAccess
    posts: Page  # the page's items: Post, or BlockedGap where blocked people's posts were
    following: bool
    # The thread was started by someone the viewer blocked: nothing of it is shown.
    blocked_author: bool = False


def _visible_posts(moderator: bool) -> sa.Select:
    """The thread's posts as its page shows them (blocked authors' posts included: the
    page turns them into gaps), oldest first, each with ``shown``: not written under a
    name the reader blocked. Built once per app and role (the block rule is the app's);
    parameters: ``:thread_id``, ``:account_id``, ``:now`` and the page's (``paged``)."""

    def build() -> sa.Select:
        reader, now = sa.bindparam("account_id"), sa.bindparam("now", type_=UTCDateTime())
        visible = access.visible(
            reader, Post, moderator=moderator, own_hidden=True, blocks=False, now=now
        )
        return paged(
            sa.select(Post, sa.not_(access.blocked(reader, Post)).label("shown"))
            .where(Post.thread_id == sa.bindparam("thread_id"), visible)
            # The page shows the stored HTML: the Markdown source is not loaded (nor decrypted).
            .options(so.defer(Post.body))
            .order_by(Post.id)
        )

    return access.prebuilt(f"thread posts, moderator={moderator}", build)


def _thread_page_statement() -> sa.Select:
    """``access.thread_statement`` (the thread, its space, the reader's membership and
    whether the thread shows) with the reader's follow of the thread and whether the
    reader blocked its author: what a thread page asks before its posts, in one statement."""

    def build() -> sa.Select:
        reader = sa.bindparam("account_id")
        return (
            access.thread_statement()
            .outerjoin(
                ThreadFollow,
                sa.and_(ThreadFollow.thread_id == Thread.id, ThreadFollow.account_id == reader),
            )
            .add_columns(ThreadFollow, access.blocked(reader, Thread).label("author_blocked"))
        )

    return access.prebuilt("thread page", build)


def view_thread(actor: Account, thread_id: object, page: int = 1) -> ThreadView:
    """A page of posts, oldest first; marks them seen for a follower.

    Posts by people the viewer blocked keep their place in the pages (so page
    numbers and links match what others see) but come back as ``BlockedGap``s,
    one per run, without their text.
    """
    params = access.thread_params(actor, thread_id)
    row = db.session.execute(_thread_page_statement(), params).one_or_none()
    thread, acc = access.thread_loaded(actor, row)
    follow = row.ThreadFollow
    if row.author_blocked:
        return ThreadView(thread, acc, Page([], 1, False), follow is not None, blocked_author=True)
    moderator = acc.has_role("moderator")
    rows = paginate(_visible_posts(moderator), page, POSTS_PER_PAGE, scalars=False, params=params)
    items: list[Post | BlockedGap] = []
    for post, visible in rows.items:
        if visible:
            items.append(post)
        elif items and isinstance(items[-1], BlockedGap):
            items[-1].count += 1
        else:
            items.append(BlockedGap(1))
    last_id = rows.items[-1][0].id if rows.items else 0
    if follow is not None and last_id > follow.last_seen_post_id:
        # A follower's read position, the one write a view makes: no fsync (a power cut
        # may show a few replies as new again; forum/disk.py).
        with disk.unsynced(db.session):
            follow.last_seen_post_id = last_id
            db.session.commit()
    posts = Page(items, rows.page, rows.has_next)
    return ThreadView(thread, acc, posts, follow is not None)


def last_page(actor: Account, thread_id: object) -> int:
    """The number of the thread's last page, as ``actor`` sees it."""
    _thread, acc = access.access_thread(actor, thread_id)
    posts = _visible_posts(acc.has_role("moderator")).limit(None).offset(None).subquery()
    params = access.thread_params(actor, thread_id)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(posts), params)
    return max(1, -(-count // POSTS_PER_PAGE))


# --- writing --------------------------------------------------------------------


def _writer(acc: access.SpaceAccess) -> Membership:
    return acc.require_write()


def create_thread(
    actor: Account,
    slug: object,
    *,
    title: object,
    body: object,
    content_warning: object = None,
    confirm_identifiers: bool = False,
) -> Thread:
    """Start a thread (title + first post) as the name the author shows in this space.

    Screened first (``forum/screening.py``). A watched word that holds it stores
    the thread hidden until a moderator keeps it: ``thread.hidden_at`` is set.
    """
    acc = access.access_space(actor, slug)
    membership = _writer(acc)
    title, body, cw = _title(title), _body(body), _cw(content_warning)
    screen = screening.screener()
    verdict = screen.check(
        actor, acc.space.id, [cw, body], title=title, confirmed=confirm_identifiers
    )
    now = clock.now()
    expires = retention.thread_expires_at(acc.space, now)
    thread = Thread(
        space_id=acc.space.id,
        author_id=actor.id,
        author_name=membership.display_name,
        title=title,
        content_warning=cw,
        created_at=now,
        last_post_at=now,
        expires_at=expires,
    )
    db.session.add(thread)
    db.session.flush()
    post = Post(
        thread_id=thread.id,
        space_id=acc.space.id,
        author_id=actor.id,
        author_name=membership.display_name,
        body=body,
        is_first=True,
        created_at=now,
        expires_at=expires,
    )
    db.session.add(post)
    standing.count_post(membership)  # trust counts it, in this transaction
    db.session.flush()
    db.session.add(
        ThreadFollow(account_id=actor.id, thread_id=thread.id, last_seen_post_id=post.id)
    )
    held = screen.apply(verdict, "thread", thread, acc.space.name)
    db.session.commit()
    if held is None:
        signals.thread_created.send(thread.id, space_id=thread.space_id, post_id=post.id)
    return thread


def reply(
    actor: Account,
    thread_id: object,
    *,
    body: object,
    content_warning: object = None,
    confirm_identifiers: bool = False,
) -> Post:
    """Reply to a thread. Locked threads take replies from moderators only.

    Screened first; a held reply is stored hidden (its author still sees it).
    """
    thread, acc = access.access_thread(actor, thread_id)
    membership = _writer(acc)
    if thread.locked and not acc.has_role("moderator"):
        raise Forbidden(_("This thread is locked: no new replies."))
    body, cw = _body(body), _cw(content_warning)
    screen = screening.screener()
    verdict = screen.check(actor, acc.space.id, [cw, body], confirmed=confirm_identifiers)
    now = clock.now()
    post = Post(
        thread_id=thread.id,
        space_id=thread.space_id,
        author_id=actor.id,
        author_name=membership.display_name,
        body=body,
        content_warning=cw,
        created_at=now,
        expires_at=retention.post_expires_at(acc.space, now, thread),
    )
    db.session.add(post)
    standing.count_post(membership)  # trust counts it, in this transaction
    thread.last_post_at = now
    db.session.flush()
    follow = db.session.get(ThreadFollow, (actor.id, thread.id))
    if follow is None:
        db.session.add(
            ThreadFollow(account_id=actor.id, thread_id=thread.id, last_seen_post_id=post.id)
        )
    else:
        follow.last_seen_post_id = max(follow.last_seen_post_id, post.id)
    held = screen.apply(verdict, "post", post, acc.space.name)
    db.session.commit()
    if held is None:
        signals.post_created.send(post.id, thread_id=thread.id, space_id=thread.space_id)
    return post


def _own_post(actor: Account, post_id: object) -> tuple[Post, access.SpaceAccess]:
    post, acc = access.access_post(actor, post_id)
    if post.author_id != actor.id:
        raise Forbidden(_("You can only change your own posts."))
    return post, acc


def edit_post(
    actor: Account,
    post_id: object,
    *,
    body: object,
    content_warning: object = None,
    title: object = None,
    confirm_identifiers: bool = False,
) -> Post:
    """Authors edit their own post (the first post's title too); it shows "edited".

    Screened like a new post. A watched word that holds it hides the post (or,
    when the word is in the new title, the thread) until a moderator keeps it.
    """
    post, acc = _own_post(actor, post_id)
    acc.require_write()
    thread = post.thread
    if thread.locked and not acc.has_role("moderator"):
        raise Forbidden(_("This thread is locked: posts can't be changed."))
    body, cw = _body(body), _cw(content_warning)
    new_title = _title(title) if post.is_first else None
    screen = screening.screener()
    verdict = screen.check(
        actor, acc.space.id, [cw, body], title=new_title, confirmed=confirm_identifiers
    )
    # A watched word in the new title holds or flags the thread; one in the body, just this post.
    kind, target = ("thread", thread) if verdict.in_title else ("post", post)
    was_hidden = target.hidden_at is not None
    if post.is_first:
        thread.title = new_title
        thread.content_warning = cw
    else:
        post.content_warning = cw
    post.body = body
    post.edited_at = clock.now()
    held = screen.apply(verdict, kind, target, acc.space.name)
    db.session.commit()
    search.compact()  # the old words leave the index, the WAL and the file now
    if held is not None and not was_hidden:
        signals.content_hidden.send(post.space_id, **held)
    else:
        signals.post_edited.send(post.id, thread_id=thread.id, space_id=post.space_id)
    return post


def delete_post(actor: Account, post_id: object) -> bool:
    """Hard-delete one's own post; returns True if the whole thread went with it."""
    post, _acc = _own_post(actor, post_id)
    thread = post.thread
    ids = {"post_id": post.id, "thread_id": thread.id, "space_id": post.space_id}
    thread_deleted = False
    if post.is_first:
        others = db.session.scalar(
            sa.select(sa.func.count()).where(Post.thread_id == thread.id, Post.id != post.id)
        )
        if others:
            _erase_first_post(post)
        else:
            db.session.delete(thread)  # the database cascades to its posts and follows
            thread_deleted = True
    else:
        db.session.delete(post)
    db.session.commit()
    search.compact()
    signals.post_deleted.send(
        ids["post_id"],
        thread_id=ids["thread_id"],
        space_id=ids["space_id"],
        thread_deleted=thread_deleted,
    )
    return thread_deleted


def _erase_first_post(post: Post) -> None:
    thread = post.thread
    post.body = ERASED_BODY
    post.content_warning = None
    post.author_id = None
    post.author_name = DELETED_NAME
    post.edited_at = None
    thread.author_id = None
    thread.author_name = DELETED_NAME


# --- follows and updates -------------------------------------------------------------


def set_follow(actor: Account, thread_id: object, follow: bool) -> None:
    """Follow a thread (its later replies show in updates) or stop following it."""
    thread, _acc = access.access_thread(actor, thread_id)
    row = db.session.get(ThreadFollow, (actor.id, thread.id))
    if follow and row is None:
        last = (
            db.session.scalar(sa.select(sa.func.max(Post.id)).where(Post.thread_id == thread.id))
            or 0
        )
        db.session.add(
            ThreadFollow(account_id=actor.id, thread_id=thread.id, last_seen_post_id=last)
        )
    elif not follow and row is not None:
        db.session.delete(row)
    db.session.commit()


@dataclass
class Update:
    thread: Thread
    space: Space
    new_posts: int
    first_new_post_id: int


def updates(actor: Account, page: int = 1, per_page: int = 20) -> Page:
    """Followed threads with new live, visible replies, in spaces the actor may still read.

    Hidden content and anything by people the actor blocked neither shows nor counts.
    """
    new = (
        sa.select(
            Post.thread_id.label("thread_id"),
            sa.func.count(Post.id).label("n"),
            sa.func.min(Post.id).label("first_id"),
        )
        .join(
            ThreadFollow,
            sa.and_(ThreadFollow.thread_id == Post.thread_id, ThreadFollow.account_id == actor.id),
        )
        .where(Post.id > ThreadFollow.last_seen_post_id, access.visible(actor, Post))
        .group_by(Post.thread_id)
        .subquery()
    )
    query = (
        sa.select(Thread, Space, new.c.n, new.c.first_id)
        .join(new, new.c.thread_id == Thread.id)
        .join(Space, Space.id == Thread.space_id)
        .where(Thread.space_id.in_(access.readable_spaces(actor)), access.visible(actor, Thread))
        .order_by(Thread.last_post_at.desc(), Thread.id.desc())
    )
    result = paginate(query, page, per_page, scalars=False)
    result.items = [Update(row[0], row[1], row[2], row[3]) for row in result.items]
    return result


# --- account deletion --------------------------------------------------------------


def forget_author(account_id: int, keep_content: bool) -> list[tuple[int, int, int, bool]]:
    """On account deletion: delete their threads and posts, or detach them as "[deleted]".

    Deleting follows the rule of :func:`delete_post` (a thread they started that has
    replies from others stays, with their first post erased) and goes further: its
    title is theirs too, so it becomes ``ERASED_TITLE``. Returns what open pages must
    hear after the commit: ``(post id, thread id, space id, thread deleted)`` per post.
    """
    if keep_content:
        for model in (Thread, Post):
            db.session.execute(
                sa.update(model)
                .where(model.author_id == account_id)
                .values(author_id=None, author_name=DELETED_NAME)
                .execution_options(synchronize_session=False)
            )
        return []
    own_threads = list(db.session.scalars(sa.select(Thread).where(Thread.author_id == account_id)))
    gone: list[tuple[int, int, int, bool]] = [
        (post_id, thread_id, space_id, False)
        for post_id, thread_id, space_id in db.session.execute(
            sa.select(Post.id, Post.thread_id, Post.space_id)
            .where(Post.author_id == account_id, Post.is_first.is_(False))
            .order_by(Post.id)
        )
    ]
    db.session.execute(
        sa.delete(Post)
        .where(Post.author_id == account_id, Post.is_first.is_(False))
        .execution_options(synchronize_session=False)
    )
    for thread in own_threads:
        others = db.session.scalar(
            sa.select(sa.func.count()).where(Post.thread_id == thread.id, Post.is_first.is_(False))
        )
        if others:
            first = db.session.scalar(
                sa.select(Post).where(Post.thread_id == thread.id, Post.is_first.is_(True))
            )
            if first is not None:
                _erase_first_post(first)
                gone.append((first.id, thread.id, thread.space_id, False))
            thread.title = ERASED_TITLE
            thread.content_warning = None
            thread.author_id = None
            thread.author_name = DELETED_NAME
        else:
            gone.append((0, thread.id, thread.space_id, True))
            db.session.delete(thread)
    # First posts they wrote in threads someone else now holds (not possible today) and
    # any stray rows: nothing of theirs may stay linked.
    db.session.execute(
        sa.delete(Post)
        .where(Post.author_id == account_id)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return gone
