"""Moderation's derived copies go with their source, never after it.

What moderation derives from content: log excerpts (``ModAction.excerpt``), flags
and their free-text notes, notices about an action, appeals. Each goes:

- at once, when the content is deleted (by its author, a moderator, account
  deletion or a cascade), edited, redacted or expires: :func:`forget_gone` and
  :func:`forget_edited` run from signal receivers right after the service's commit,
  then checkpoint the SQLite WAL so the old rows leave the files;
- by the minute sweep (:func:`delete_expired`), as a safety net and for copies
  with their own clock: an excerpt past ``excerpt_expires_at`` (the content's
  expiry; for text a moderator deleted, the appeal window too), appeals whose
  action's copy has expired, notices past their expiry.

Kept on purpose: a moderator-deleted item's own log excerpt, for moderators only,
until the appeal window closes (``moderation/modlog.py``); decided flags without
their note (reason key, weight, status: no text) while their item lives, 180 days at
most, so the same member does not flag a decided item again (trust keeps its own
counters, ``forum/standing.py``).
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from forum import clock
from forum import disk
from forum import signals
from forum.extensions import db
from forum.models import Post
from forum.models import Thread
from moderation import targets
from moderation.models import FLAG_OPEN
from moderation.models import Appeal
from moderation.models import Flag
from moderation.models import ModAction
from moderation.models import Notice
from moderation.modlog import REMOVED_TEXT_ACTIONS
from moderation.modlog import forget_excerpts

# Decided flags (no text) are kept this long, then deleted.
FLAG_HISTORY = timedelta(days=180)
# content_expired's sender (the expirer's name) -> the moderation target kind.
EXPIRED_KINDS = {"posts": "post", "threads": "thread", "chat": "chat", "bad_date_reports": "report"}


def forget_gone(space_ids: list[int] | None = None) -> int:
    """Delete what moderation copied from content that no longer exists (no commit).

    ``space_ids`` narrows the search to those spaces (None: everywhere). Returns
    how many rows changed.
    """
    changed = 0
    for kind, model in targets.MODELS.items():  # realtime adds chat
        gone_log = ~sa.exists().where(model.id == ModAction.target_id)
        where = [
            ModAction.target_kind == kind,
            ModAction.excerpt.is_not(None),
            ModAction.action.not_in(REMOVED_TEXT_ACTIONS),
            gone_log,
        ]
        if space_ids is not None:
            where.append(ModAction.space_id.in_(space_ids))
        changed += db.session.execute(
            sa.update(ModAction)
            .where(*where)
            .values(excerpt=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        gone_flag = ~sa.exists().where(model.id == Flag.target_id)
        scope = [Flag.target_kind == kind, gone_flag]
        if space_ids is not None:
            scope.append(Flag.space_id.in_(space_ids))
        # Every flag of gone content: open ones (nothing to review), decided ones (kept
        # only so the same member does not flag a live item again).
        changed += db.session.execute(
            sa.delete(Flag).where(*scope).execution_options(synchronize_session=False)
        ).rowcount
    return changed


def _cap(table: type, kind_col: Any, id_col: Any, end_col: Any, model: type, where: list) -> int:
    """``end_col = min(end_col, model.expires_at)`` where ``(kind_col, id_col)`` names a
    live row of ``model`` that ends sooner (portable SQL: like compared with like)."""
    source_end = sa.select(model.expires_at).where(model.id == id_col).scalar_subquery()
    sooner = sa.exists().where(
        model.id == id_col,
        model.expires_at.is_not(None),
        sa.or_(end_col.is_(None), end_col > model.expires_at),
    )
    conditions = [sooner, *where] if kind_col is None else [kind_col, sooner, *where]
    return (
        db.session.execute(
            sa.update(table)
            .where(*conditions)
            .values({end_col.key: source_end})
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )


def cap_copies(space_ids: list[int] | None = None) -> int:
    """No copy outlives its source, when the source's life was shortened (no commit).

    A log line's copy (``excerpt_expires_at``, which also closes its appeals) ends by
    its content's expiry; a deleted reply's by its thread's; a notice's by its content's
    and by its log line's. ``space_ids`` narrows it to those spaces (None: everywhere).
    Returns how many rows changed.
    """
    in_spaces = [ModAction.space_id.in_(space_ids)] if space_ids is not None else []
    changed = 0
    for kind, model in targets.MODELS.items():  # realtime adds chat
        changed += _cap(
            ModAction,
            ModAction.target_kind == kind,
            ModAction.target_id,
            ModAction.excerpt_expires_at,
            model,
            in_spaces,
        )
        changed += _cap(
            Notice,
            Notice.target_kind == kind,
            Notice.target_id,
            Notice.expires_at,
            model,
            [],
        )
    # A reply that is gone (deleted by a moderator) would have gone with its thread.
    changed += _cap(
        ModAction,
        None,
        ModAction.thread_id,
        ModAction.excerpt_expires_at,
        Thread,
        in_spaces,
    )
    # Notices follow the log line they report.
    line_end = (
        sa.select(ModAction.excerpt_expires_at)
        .where(ModAction.id == Notice.action_id)
        .scalar_subquery()
    )
    sooner = sa.exists().where(
        ModAction.id == Notice.action_id,
        ModAction.excerpt_expires_at.is_not(None),
        ModAction.excerpt_expires_at < Notice.expires_at,
        *in_spaces,
    )
    changed += (
        db.session.execute(
            sa.update(Notice)
            .where(sooner)
            .values(expires_at=line_end)
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )
    return changed


def forget_edited(post_id: int) -> None:
    """The text a log line quoted was edited away: blank its excerpts (no commit)."""
    post = db.session.get(Post, post_id)
    if post is None:
        return
    forget_excerpts("post", [post.id])
    if post.is_first:
        forget_excerpts("thread", [post.thread_id])  # the title may have changed too
    db.session.execute(
        sa.update(Flag)
        .where(Flag.target_kind == "post", Flag.target_id == post.id, Flag.note.is_not(None))
        .values(note=None)
        .execution_options(synchronize_session=False)
    )


def _finish() -> None:
    db.session.commit()
    disk.checkpoint(db.engine)


# --- Signal receivers (connected in moderation.init_app) ----------------------------


def on_content_gone(sender: object, **payload: Any) -> None:
    """A post, thread or chat message was deleted: sender is its space id."""
    forget_gone([sender] if isinstance(sender, int) else None)
    _finish()


def on_post_deleted(_sender: object, space_id: int | None = None, **_payload: Any) -> None:
    forget_gone([space_id] if space_id is not None else None)
    _finish()


def on_post_edited(sender: object, **_payload: Any) -> None:
    if isinstance(sender, int):
        forget_edited(sender)
        _finish()


def forget_expired(kind: str, ids: list[int]) -> int:
    """:func:`forget_gone` for rows the sweep has just deleted, by id (no commit).

    The same copies go (excerpts but those of removed text, every flag), found through
    the ids in hand instead of a search of every copy in the space for content that no
    longer exists: a sweep of a million chat messages runs this a thousand times.
    """
    if not ids:
        return 0
    changed = db.session.execute(
        sa.update(ModAction)
        .where(
            ModAction.target_kind == kind,
            ModAction.target_id.in_(ids),
            ModAction.excerpt.is_not(None),
            ModAction.action.not_in(REMOVED_TEXT_ACTIONS),
        )
        .values(excerpt=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    changed += db.session.execute(
        sa.delete(Flag)
        .where(Flag.target_kind == kind, Flag.target_id.in_(ids))
        .execution_options(synchronize_session=False)
    ).rowcount
    return changed


def on_content_expired(
    sender: object, rows: list[dict[str, Any]] | None = None, **_payload: Any
) -> None:
    """After each batch of the sweep: the copies of what it deleted go, and commit.

    No WAL checkpoint per batch: the sweep truncates the WAL when it ends
    (``forum.expiry.delete_expired``), and the minute upkeep's ``forget_gone`` catches
    anything else gone meanwhile.
    """
    if sender not in EXPIRED_KINDS:
        return
    rows = rows or []
    forget_expired(EXPIRED_KINDS[sender], [row["id"] for row in rows])
    if sender == "threads" and rows:
        # A thread's posts left with it (foreign-key cascade): their copies too.
        spaces = sorted({row["space_id"] for row in rows if row.get("space_id") is not None})
        forget_gone(spaces or None)
        # Replies a moderator deleted from these threads would have expired with them.
        db.session.execute(
            sa.update(ModAction)
            .where(
                ModAction.thread_id.in_([row["id"] for row in rows]), ModAction.excerpt.is_not(None)
            )
            .values(excerpt=None)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def on_retention_changed(
    sender: object, applied_to_existing: bool = False, **_payload: Any
) -> None:
    """An owner shortened what exists: every copy takes its source's new expiry
    (:func:`cap_copies`); the deleted text kept for appeals in that space goes now, with
    its appeals and notices (its source's new expiry is not known once the source is
    gone: err towards less)."""
    if not applied_to_existing or not isinstance(sender, int):
        return
    now = clock.now()
    db.session.execute(
        sa.update(ModAction)
        .where(
            ModAction.space_id == sender,
            ModAction.action.in_(REMOVED_TEXT_ACTIONS),
            sa.or_(ModAction.excerpt_expires_at.is_(None), ModAction.excerpt_expires_at > now),
        )
        .values(excerpt=None, excerpt_expires_at=now)
        .execution_options(synchronize_session=False)
    )
    cap_copies([sender])
    _finish()


def on_thread_shortened(sender: object, space_id: int | None = None, **_payload: Any) -> None:
    """A thread's life (and its posts') was shortened: copies of them follow."""
    cap_copies([space_id] if space_id is not None else None)
    _finish()


def on_account_deleted(_sender: object, **_payload: Any) -> None:
    forget_gone(None)
    _finish()


def connect_receivers() -> None:
    """Connecting twice is a no-op in blinker: every app a test builds may call this."""
    signals.content_deleted.connect(on_content_gone)
    signals.post_deleted.connect(on_post_deleted)
    signals.post_edited.connect(on_post_edited)
    signals.content_expired.connect(on_content_expired)
    signals.account_deleted.connect(on_account_deleted)
    signals.retention_changed.connect(on_retention_changed)
    signals.thread_shortened.connect(on_thread_shortened)


# --- The minute sweep ----------------------------------------------------------------


def delete_expired(now: datetime) -> dict[str, int]:
    """Blank expired excerpts, delete expired notices, appeals and stale flags; commit."""
    blanked = db.session.execute(
        sa.update(ModAction)
        .where(ModAction.excerpt_expires_at <= now, ModAction.excerpt.is_not(None))
        .values(excerpt=None)
    ).rowcount
    expired_actions = sa.select(ModAction.id).where(ModAction.excerpt_expires_at <= now)
    appeals = db.session.execute(
        sa.delete(Appeal)
        .where(Appeal.action_id.in_(expired_actions))
        .execution_options(synchronize_session=False)
    ).rowcount
    notices = db.session.execute(sa.delete(Notice).where(Notice.expires_at <= now)).rowcount
    flags = db.session.execute(
        sa.delete(Flag).where(Flag.status != FLAG_OPEN, Flag.resolved_at <= now - FLAG_HISTORY)
    ).rowcount
    copies = forget_gone(None)
    db.session.commit()
    return {
        "excerpts": blanked,
        "appeals": appeals,
        "notices": notices,
        "flags": flags,
        "copies of removed content": copies,
    }


def forget_account(account_id: int, keep_content: bool) -> None:
    """On account deletion (inside its transaction).

    Their flags, appeals, blocks (both ways) and notices go with the account (ON
    DELETE CASCADE). The public log keeps its lines but forgets them: no name as
    moderator, "[deleted]" as target, and no excerpt unless the content stays.
    """
    db.session.execute(
        sa.update(ModAction)
        .where(ModAction.moderator_id == account_id)
        .values(moderator_id=None, moderator_name=None)
    )
    values: dict = {"target_account_id": None, "target_name": "[deleted]"}
    if not keep_content:
        values.update(excerpt=None)
    db.session.execute(
        sa.update(ModAction).where(ModAction.target_account_id == account_id).values(**values)
    )
