"""The moderation sweeper: log excerpts expire with their content; notices after 30 days."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa

from forum.extensions import db
from moderation import targets
from moderation.models import FLAG_OPEN
from moderation.models import Flag
from moderation.models import ModAction
from moderation.models import Notice

# Decided flags are kept this long for trust accuracy, then deleted.
FLAG_HISTORY = timedelta(days=180)


def delete_expired(now: datetime) -> dict[str, int]:
    """Blank expired excerpts, delete expired notices and stale flags; commit; return counts."""
    blanked = db.session.execute(
        sa.update(ModAction)
        .where(ModAction.excerpt_expires_at <= now, ModAction.excerpt.is_not(None))
        .values(excerpt=None)
    ).rowcount
    notices = db.session.execute(sa.delete(Notice).where(Notice.expires_at <= now)).rowcount
    flags = db.session.execute(
        sa.delete(Flag).where(Flag.status != FLAG_OPEN, Flag.resolved_at <= now - FLAG_HISTORY)
    ).rowcount
    for kind, model in targets.MODELS.items():
        gone = ~sa.exists().where(model.id == Flag.target_id)
        flags += db.session.execute(
            sa.delete(Flag).where(Flag.target_kind == kind, Flag.status == FLAG_OPEN, gone)
        ).rowcount
    db.session.commit()
    return {"excerpts": blanked, "notices": notices, "flags": flags}


def forget_account(account_id: int, keep_content: bool) -> None:
    """On account deletion (inside its transaction).

    Their flags, appeals, blocks (both ways) and notices go with the account (ON
    DELETE CASCADE). The public log keeps its lines but forgets them: no name as
    moderator, "[deleted]" as target, and no excerpt unless the content stays.
    """
    db.session.execute(
        sa.update(ModAction).where(ModAction.moderator_id == account_id)
        .values(moderator_id=None, moderator_name=None)
    )
    values: dict = {"target_account_id": None, "target_name": "[deleted]"}
    if not keep_content:
        values.update(excerpt=None)
    db.session.execute(
        sa.update(ModAction).where(ModAction.target_account_id == account_id).values(**values)
    )
