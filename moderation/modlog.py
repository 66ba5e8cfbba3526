"""The per-space moderation log: written with each action, read by the space's members.

The log says what was done and why. Members read it, but it never quotes text they
can no longer read: the excerpt of an item a moderator (or members' flags) *hid* or
*deleted* is shown to the space's moderators only, and only while an appeal can
still need it (``RB_APPEAL_DAYS``, never past the content's own expiry); then it is
blanked (``moderation/expiry.py``). Other excerpts (an item kept after flags) quote
text members can read, and go when it does: when the content expires, is edited,
redacted or deleted. A deleted item's own excerpt is the one copy that outlives its
source, for the appeal window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from forum import access
from forum import clock
from forum.access import SpaceAccess
from forum.extensions import db
from forum.i18n import N_
from forum.models import Account
from forum.pagination import paginate
from moderation import wording
from moderation.models import ModAction
from moderation.targets import Target

PER_PAGE = 30
# Actions whose excerpt is text members can no longer read (hidden or deleted): shown to
# moderators only, kept for the appeal window only.
MODERATORS_ONLY_ACTIONS = frozenset({"delete", "hide", "auto_hide"})
# Of those, the actions whose source is gone: the excerpt outlives it, for the appeal window.
REMOVED_TEXT_ACTIONS = frozenset({"delete"})
# Names of actions as the log shows them.
ACTION_LABELS = {
    "auto_hide": N_("hidden after flags"),
    "keep": N_("kept (flags dismissed)"),
    "hide": N_("hidden"),
    "delete": N_("deleted"),
    "redact": N_("personal information removed"),
    "lock": N_("thread locked"),
    "unlock": N_("thread unlocked"),
    "pin": N_("thread pinned"),
    "unpin": N_("thread unpinned"),
    "mute": N_("member muted"),
    "remove": N_("member removed"),
    "suspend": N_("account suspended"),
    "alert_remove": N_("urgent alert removed"),
    "appeal_upheld": N_("appeal refused: the decision stays"),
    "appeal_overturned": N_("appeal accepted: the decision is undone"),
}


def appeal_window() -> timedelta:
    """How long after an action its member may appeal, and removed text may be kept for it."""
    return timedelta(days=max(0, int(current_app.config["RB_APPEAL_DAYS"])))


def keep_copy_until(action: str, target: Target | None, now: datetime) -> datetime | None:
    """Until when a log line may quote ``target``: its expiry; for removed text, also the window."""
    until = target.expires_at if target is not None else None
    if action in MODERATORS_ONLY_ACTIONS:
        closes = now + appeal_window()
        until = closes if until is None else min(until, closes)
    return until


def write(
    space_access: SpaceAccess | None,
    space_id: int,
    action: str,
    *,
    target: Target | None = None,
    target_account_id: int | None = None,
    target_name: str = "",
    reason: str = "",
    reason_code: str | None = None,
    reason_values: dict[str, Any] | None = None,
    moderator: Account | None = None,
    excerpt: bool = True,
) -> ModAction:
    """Add a log row to the current transaction (the caller commits with its change).

    ``reason`` is the moderator's, as typed; ``reason_code`` (a key of
    ``wording.REASONS``) and ``reason_values`` say what the line shows when there is
    none, and any duration: worded in the reader's language when read."""
    if reason_code is not None and reason_code not in wording.REASONS:
        raise ValueError(f"no wording for the log reason code {reason_code!r}")
    name = None
    if (
        moderator is not None
        and space_access is not None
        and space_access.space.modlog_names_moderator
    ):
        membership = space_access.membership
        # "": an instance admin who is not a member here (worded when read).
        name = membership.display_name if membership is not None else ""
    now = clock.now()
    if target is not None and action in MODERATORS_ONLY_ACTIONS:
        # Earlier public lines (an item kept after flags) must not go on quoting it.
        db.session.execute(
            sa.update(ModAction)
            .where(
                ModAction.target_kind == target.kind,
                ModAction.target_id == target.id,
                ModAction.action.not_in(MODERATORS_ONLY_ACTIONS),
                ModAction.excerpt.is_not(None),
            )
            .values(excerpt=None)
            .execution_options(synchronize_session=False)
        )
    row = ModAction(
        space_id=space_id,
        action=action,
        target_kind=target.kind if target else None,
        target_id=target.id if target else None,
        thread_id=target.thread_id if target else None,
        target_account_id=target.author_id if target else target_account_id,
        target_name=(target.author_name if target else target_name)[:64],
        excerpt=target.excerpt()[:160] if target is not None and excerpt else None,
        excerpt_expires_at=keep_copy_until(action, target, now) if target is not None else None,
        reason=reason[:300],
        reason_code=reason_code,
        reason_values=reason_values or None,
        moderator_id=moderator.id if moderator is not None else None,
        moderator_name=name,
        created_at=now,
    )
    db.session.add(row)
    db.session.flush()
    return row


def forget_excerpts(kind: str, ids: list[int]) -> None:
    """Blank every log excerpt of these items (in the caller's transaction).

    For text that no longer exists as it was quoted: redacted, edited, deleted or
    expired content.
    """
    if not ids:
        return
    db.session.execute(
        sa.update(ModAction)
        .where(
            ModAction.target_kind == kind,
            ModAction.target_id.in_(ids),
            ModAction.excerpt.is_not(None),
        )
        .values(excerpt=None)
        .execution_options(synchronize_session=False)
    )


def reason_words(row: ModAction) -> str:
    """The line's reason in the reader's language ("" if none)."""
    return wording.reason(row.reason, row.reason_code, row.reason_values)


@dataclass
class LogLine:
    id: int
    action: str
    label: str
    target_name: str
    excerpt: str | None
    reason: str
    moderator: str
    created_at: datetime
    # The excerpt is hidden or deleted text, shown to moderators for the appeal window only.
    moderators_only: bool = False


def read(
    account: Account | None, slug: object, page: int = 1
) -> tuple[SpaceAccess, list[LogLine], bool]:
    """A page of the space's log for anyone who may read the space (NotFound otherwise)."""
    space_access = access.access_space(account, slug)
    now = clock.now()
    found = paginate(
        sa.select(ModAction)
        .where(ModAction.space_id == space_access.space.id)
        .order_by(ModAction.id.desc()),
        page,
        PER_PAGE,
    )
    moderator = account is not None and space_access.has_role("moderator")
    lines = []
    for row in found.items:
        live = row.excerpt_expires_at is None or row.excerpt_expires_at > now
        removed = row.action in MODERATORS_ONLY_ACTIONS
        live = live and (moderator or not removed)
        if row.moderator_id is None and row.action == "auto_hide":
            who = _("members' flags")
        elif row.moderator_name == "":
            who = _("an instance admin")
        else:
            who = row.moderator_name or _("a moderator")
        lines.append(
            LogLine(
                row.id,
                row.action,
                ACTION_LABELS.get(row.action, row.action),
                row.target_name,
                row.excerpt if live else None,
                reason_words(row),
                who,
                row.created_at,
                removed and live,
            )
        )
    return space_access, lines, found.has_next
