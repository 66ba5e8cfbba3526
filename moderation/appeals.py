"""Appeals: the author asks once per action; a different moderator decides.

A member may appeal within the appeal window (``RB_APPEAL_DAYS`` after the action)
and while the content it concerns still exists or is still kept for the appeal
(``ModAction.excerpt_expires_at``). An appeal row goes when that copy does
(``moderation/expiry.py``): it never outlives the content it is about.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from forum import access
from forum import clock
from forum import signals
from forum import text
from forum.access import SpaceAccess
from forum.errors import Conflict
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.i18n import N_
from forum.models import Account
from forum.models import Membership
from forum.models import Post
from forum.pagination import paginate
from moderation import modlog
from moderation import notices
from moderation import targets
from moderation.models import APPEAL_OPEN
from moderation.models import APPEAL_OVERTURNED
from moderation.models import APPEAL_UPHELD
from moderation.models import Appeal
from moderation.models import ModAction

APPEALABLE = ("auto_hide", "hide", "delete", "mute")
TEXT_MAX = 1000
PER_PAGE = 20
OUTCOMES = {"uphold": APPEAL_UPHELD, "overturn": APPEAL_OVERTURNED}
# An appeal's status as its member reads it (the stored value is a key).
STATUS_LABELS = {
    APPEAL_OPEN: N_("waiting for a decision"),
    APPEAL_UPHELD: N_("refused: the decision stays"),
    APPEAL_OVERTURNED: N_("accepted: the decision is undone"),
}


def appealable_action(
    actor: Account, action_id: object
) -> tuple[ModAction, SpaceAccess, Appeal | None]:
    """The action, if the actor is the member it was taken against; NotFound otherwise."""
    action = db.session.get(ModAction, access.row_id(action_id))
    if action is None or action.target_account_id != actor.id or action.action not in APPEALABLE:
        raise NotFound()
    space_access = access.access_space_by_id(actor, action.space_id)
    existing = db.session.scalar(sa.select(Appeal).where(Appeal.action_id == action.id))
    return action, space_access, existing


def deadline(action: ModAction) -> datetime:
    """The last moment to appeal ``action``: the window's end, or its content's, if sooner."""
    closes = action.created_at + modlog.appeal_window()
    if action.excerpt_expires_at is not None:
        closes = min(closes, action.excerpt_expires_at)
    return closes


def appeal(actor: Account, action_id: object, why: object) -> Appeal:
    """Appeal a hide, delete or mute, once. Raises NotFound, Conflict, Forbidden or Invalid."""
    action, _space_access, existing = appealable_action(actor, action_id)
    if existing is not None:
        raise Conflict(
            _("You have already appealed this decision. You will get a notice when it is decided.")
        )
    if clock.now() >= deadline(action):
        raise Forbidden(_("The time to appeal this decision has passed."))
    if not isinstance(why, str) or not why.strip():
        raise Invalid(_("Please say why you think the decision was wrong."))
    why = text.clean(why, _("appeal"), TEXT_MAX, multiline=True)
    row = Appeal(
        action_id=action.id,
        space_id=action.space_id,
        author_id=actor.id,
        text=why,
        created_at=clock.now(),
    )
    db.session.add(row)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise Conflict(_("You have already appealed this decision.")) from None
    return row


def open_appeals(
    actor: Account, slug: object, page: int = 1
) -> tuple[SpaceAccess, list[Appeal], bool]:
    """Undecided appeals in a space, oldest first (moderators only)."""
    space_access = access.access_space(actor, slug)
    space_access.require_role("moderator")
    found = paginate(
        sa.select(Appeal)
        .where(Appeal.space_id == space_access.space.id, Appeal.status == APPEAL_OPEN)
        .order_by(Appeal.id),
        page,
        PER_PAGE,
    )
    return space_access, found.items, found.has_next


def decide(
    actor: Account, slug: object, appeal_id: object, outcome: object, reason: object = ""
) -> Appeal:
    """Uphold or overturn. Not by the moderator who acted, nor by the author."""
    space_access = access.access_space(actor, slug)
    space_access.require_role("moderator")
    row = db.session.get(Appeal, access.row_id(appeal_id))
    if row is None or row.space_id != space_access.space.id:
        raise NotFound()
    if outcome not in OUTCOMES:
        raise Invalid(_("Please choose uphold or overturn."))
    reason = text.clean(reason, _("reason"), 300, required=False)
    if row.status != APPEAL_OPEN:
        raise Conflict(_("This appeal has already been decided."))
    action = row.action
    if actor.id in (row.author_id, action.moderator_id):
        raise Forbidden(_("A different moderator must decide this appeal."))
    now = clock.now()
    row.status, row.decided_by, row.decided_at = OUTCOMES[outcome], actor.id, now
    unhidden = None
    # Plain words: the notice says whether the appeal succeeded ("overturned" did not),
    # and what that changed (a code of moderation/wording.py NOTICES).
    told = "appeal_refused"
    if outcome == "overturn":
        told = "appeal_undone"
        if action.action in ("hide", "auto_hide"):
            target = targets.get_live(action.target_kind, action.target_id)
            if target is not None and target.hidden_at is not None:
                target.obj.hidden_at = None
                unhidden = target
                told = "appeal_shown"
        elif action.action == "mute":
            membership = db.session.scalar(
                sa.select(Membership).where(
                    Membership.space_id == row.space_id, Membership.account_id == row.author_id
                )
            )
            if membership is not None:
                membership.muted_until = None
            told = "appeal_unmuted"
        elif action.action == "delete":
            told = "appeal_not_back"
    modlog.write(
        space_access,
        row.space_id,
        f"appeal_{row.status}",
        target_account_id=row.author_id,
        target_name=action.target_name,
        reason=reason,
        moderator=actor,
    )
    notices.notify(
        row.author_id,
        told,
        {"space": space_access.space.id},
        f"/s/{space_access.space.id}/mod/log",
        action=action,  # the decision appealed: about its content, goes with it
    )
    db.session.commit()
    if unhidden is not None:
        signals.content_unhidden.send(unhidden.space_id, **unhidden.payload())
    return row


def appealable_hides(actor: Account | None, items: list[object]) -> dict[int, int]:
    """For the viewer's own hidden posts among ``items``: the latest hide to appeal.

    One query; thread pages call it (a template global ``moderation.init_app`` adds).
    """
    if actor is None:
        return {}
    own_hidden = [
        item.id
        for item in items
        if isinstance(item, Post) and item.hidden_at is not None and item.author_id == actor.id
    ]
    if not own_hidden:
        return {}
    rows = db.session.execute(
        sa.select(ModAction.target_id, sa.func.max(ModAction.id))
        .where(
            ModAction.target_kind == "post",
            ModAction.target_id.in_(own_hidden),
            ModAction.target_account_id == actor.id,
            ModAction.action.in_(("auto_hide", "hide")),
        )
        .group_by(ModAction.target_id)
    ).all()
    return {target_id: action_id for target_id, action_id in rows}
