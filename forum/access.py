"""Who may see and do what. Every service asks here, once.

``access_*`` returns the object or raises. ``NotFound`` when the actor may not see
the thing, exactly as if it did not exist (a closed or hidden space, its threads,
posts and rooms, to a non-member); ``Forbidden`` only when the actor may see it but
may not do this (post without joining an open space, act without the role).

Visibility rules:
- every space page needs a signed-in account (visitors are sent to log in);
- open spaces: any signed-in account may read; members may write;
- closed spaces: non-members see the name, description and join form only;
- hidden spaces: nothing at all for non-members;
- instance admins see every space, as moderators do.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from forum import clock
from forum.errors import Forbidden
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.models import Membership
from forum.models import Post
from forum.models import Space
from forum.models import Thread


@dataclass
class SpaceAccess:
    """A space as one actor sees it."""

    space: Space
    account: Account
    membership: Membership | None

    @property
    def is_member(self) -> bool:
        return self.membership is not None

    def has_role(self, role: str) -> bool:
        """Moderator/owner checks; instance admins count as owners everywhere."""
        if self.account.is_admin:
            return True
        return self.membership is not None and self.membership.has_role(role)

    @property
    def can_read(self) -> bool:
        return self.is_member or self.space.kind == "open" or self.account.is_admin

    def require_write(self) -> Membership:
        """The membership, if the actor may post here now; Forbidden otherwise."""
        if self.membership is None:
            raise Forbidden("Join this space to post in it.")
        muted = self.membership.muted_until
        if muted is not None and muted > clock.now():
            raise Forbidden("You are muted in this space for now.")
        return self.membership

    def require_role(self, role: str) -> None:
        if not self.has_role(role):
            raise Forbidden("Only the space's moderators can do that.")


MAX_ID = 2**63 - 1  # larger integers overflow the database's integer type


def row_id(value: object, message: str | None = None) -> int:
    """An id from a client (form, URL, socket event): a whole number from 1 to MAX_ID.

    Anything else (text, ``true``, a float, a huge number) is NotFound, exactly as
    for a missing row, so guessing with junk learns nothing and never reaches SQL.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise NotFound(message) if message else NotFound()
    return value


def membership_of(account: Account, space_id: int) -> Membership | None:
    return db.session.scalar(
        sa.select(Membership).where(Membership.space_id == space_id, Membership.account_id == account.id)
    )


def _visible_shell(space: Space | None, account: Account | None) -> SpaceAccess:
    """The space if the actor may know it exists (read access is checked separately)."""
    if space is None or account is None:
        raise NotFound()
    membership = membership_of(account, space.id)
    if space.kind == "hidden" and membership is None and not account.is_admin:
        raise NotFound()
    return SpaceAccess(space, account, membership)


def access_space_shell(account: Account | None, slug: object) -> SpaceAccess:
    """For the "about / join" page: open and closed spaces exist to everyone signed in."""
    if not isinstance(slug, str) or len(slug) > 64:
        raise NotFound()
    return _visible_shell(db.session.scalar(sa.select(Space).where(Space.slug == slug)), account)


def access_space(account: Account | None, slug: object) -> SpaceAccess:
    """The space's content: members (and everyone signed in, for open spaces)."""
    access = access_space_shell(account, slug)
    if not access.can_read:
        raise NotFound()
    return access


def access_space_by_id(account: Account | None, space_id: int) -> SpaceAccess:
    access = _visible_shell(db.session.get(Space, space_id), account)
    if not access.can_read:
        raise NotFound()
    return access


def live(column: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """``expires_at`` filter for every read path: no expiry, or expiry still ahead."""
    return sa.or_(column.is_(None), column > clock.now())


def access_thread(account: Account | None, thread_id: object) -> tuple[Thread, SpaceAccess]:
    """A live thread the actor may read. Hidden threads are seen by moderators only."""
    thread_id = row_id(thread_id)
    thread = db.session.scalar(sa.select(Thread).where(Thread.id == thread_id, live(Thread.expires_at)))
    if thread is None:
        raise NotFound()
    access = access_space_by_id(account, thread.space_id)
    if thread.hidden_at is not None and not access.has_role("moderator"):
        raise NotFound()
    return thread, access


def access_post(account: Account | None, post_id: object) -> tuple[Post, SpaceAccess]:
    """A live post the actor may read (hidden ones: its author and moderators)."""
    post_id = row_id(post_id)
    post = db.session.scalar(sa.select(Post).where(Post.id == post_id, live(Post.expires_at)))
    if post is None:
        raise NotFound()
    thread, access = access_thread(account, post.thread_id)
    if post.hidden_at is not None and not (access.has_role("moderator") or post.author_id == account.id):
        raise NotFound()
    return post, access
