"""Content as moderation sees it: one shape for posts, threads and chat messages.

``load(actor, kind, id)`` applies the same visibility as the content's own pages
(``forum/access.py``): NotFound for what the actor may not see, hidden items only
for their author and the space's moderators, expired items for nobody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from forum import access
from forum import signals
from forum.access import SpaceAccess
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.models import Post
from forum.models import Thread
from forum.safety import baddates
from forum.safety import messages
from forum.safety.models import BadDateReport
from forum.safety.models import DirectMessage
from moderation.models import TARGET_KINDS

# The content moderation knows, by kind: forum's here; realtime adds "chat" in its init_app.
MODELS: dict[str, Any] = {
    "post": Post,
    "thread": Thread,
    "report": BadDateReport,
    "dm": DirectMessage,
}
# Kinds whose rows count as someone's posts for trust levels (a thread's text is its first post).
CONTRIBUTIONS: set[str] = {"post"}
EXCERPT_CHARS = 120


def register_kind(kind: str, model: Any, *, contribution: bool) -> None:
    """Another package's content (realtime: chat messages), named in ``TARGET_KINDS``.

    ``model`` has ``id``, ``space_id``, ``author_id``, ``author_name``, ``body``,
    ``expires_at`` and ``hidden_at``. Registering again replaces (apps are built many times).
    """
    if kind not in TARGET_KINDS:
        raise ValueError(f"unknown content kind {kind!r}: add it to TARGET_KINDS")
    MODELS[kind] = model
    if contribution:
        CONTRIBUTIONS.add(kind)


@dataclass
class Target:
    kind: str
    obj: Any  # a row of one of MODELS

    @property
    def id(self) -> int:
        return self.obj.id

    @property
    def space_id(self) -> int:
        return self.obj.space_id

    @property
    def author_id(self) -> int | None:
        return self.obj.author_id

    @property
    def author_name(self) -> str:
        return self.obj.author_name

    @property
    def text(self) -> str:
        return self.obj.title if self.kind == "thread" else self.obj.body

    @property
    def expires_at(self) -> datetime | None:
        return self.obj.expires_at

    @property
    def hidden_at(self) -> datetime | None:
        return self.obj.hidden_at

    @property
    def thread_id(self) -> int | None:
        if self.kind == "thread":
            return self.obj.id
        return self.obj.thread_id if self.kind == "post" else None

    def excerpt(self) -> str:
        return excerpt_of(self.text)

    def payload(self) -> dict[str, Any]:
        """The signal payload realtime needs to find the item on every screen."""
        chat = self.kind == "chat"
        return signals.content_payload(
            self.kind,
            self.obj.id,
            thread_id=self.thread_id,
            room_id=self.obj.room_id if chat else None,
            seq=self.obj.seq if chat else None,
        )


def excerpt_of(text: str) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"


def get_live(kind: object, target_id: object) -> Target | None:
    """The live item, with no permission check (callers have checked the space)."""
    if kind not in MODELS:
        return None
    try:
        target_id = access.row_id(target_id)
    except NotFound:
        return None
    model = MODELS[kind]
    query = sa.select(model).where(model.id == target_id, access.live(model.expires_at))
    obj = db.session.scalar(query)
    return Target(kind, obj) if obj is not None else None


def load(actor: Account | None, kind: object, target_id: object) -> tuple[Target, SpaceAccess]:
    """The item and the actor's access to its space, if the actor may see it; else NotFound."""
    if kind not in TARGET_KINDS:
        raise NotFound()
    target_id = access.row_id(target_id)
    if kind == "post":
        post, space_access = access.access_post(actor, target_id)
        return Target("post", post), space_access
    if kind == "thread":
        thread, space_access = access.access_thread(actor, target_id)
        return Target("thread", thread), space_access
    if kind == "report":
        report, space_access = baddates.access_report(actor, target_id)
        return Target("report", report), space_access
    if kind == "dm":
        message, space_access = messages.access_message(actor, target_id)
        return Target("dm", message), space_access
    target = get_live(kind, target_id)
    if target is None or actor is None:
        raise NotFound()
    space_access = access.access_space_by_id(actor, target.space_id)
    if not space_access.takes_part:
        raise NotFound()  # chat is for members, in open spaces too (SpaceAccess.takes_part)
    moderator = space_access.has_role("moderator")
    if not access.shows(actor, target.obj, moderator=moderator, own_hidden=True):
        raise NotFound()
    return target, space_access
