"""What every forum write passes before it is stored: watched words, links, privacy.

Forum services reach this through the seam in ``forum/screening.py``, which
``moderation.init_app`` points here.

``check(actor, space_id, parts, confirmed=...)`` runs, in this order:

1. the space's watched words (``moderation.watchwords.screen``): "block" refuses
   the text (``Invalid``); "hold" and "flag" let it through and come back as the
   verdict, for :func:`apply` once the row exists;
2. links from new accounts (``moderation.trust.may_post_links``): a text with a
   link, found exactly as the Markdown renderer would make one
   (``forum.markdown.links_in``), is refused (``Forbidden``) with why and when
   the rule lifts;
3. the privacy guard (``moderation.guard.check``): likely phone numbers, email
   addresses and street addresses raise ``NeedsConfirmation`` (422) until the
   author ticks "Post it anyway".

Nothing is stored until all three pass. ``parts`` are the title, content warning
and body: every field others will read is checked.

``apply(verdict, kind, item, space_name)`` then adds the system flag in the caller's
transaction: "hold" hides the item until a moderator keeps it and tells the author;
"flag" puts it in the review queue and leaves it showing.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from forum import clock
from forum import markdown
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.models import Account
from moderation import flags
from moderation import guard
from moderation import notices
from moderation import trust
from moderation import watchwords
from moderation.targets import Target
from moderation.watchwords import Verdict


def _joined(parts: list[object]) -> str:
    return "\n\n".join(part for part in parts if isinstance(part, str) and part)


def check(actor: Account, space_id: int, parts: list[object], *, confirmed: bool) -> Verdict:
    """Refuse (Invalid, Forbidden, NeedsConfirmation) or return the watched-word verdict."""
    text = _joined(parts)
    verdict = watchwords.screen(space_id, text)
    if verdict.action == "block":
        raise Invalid(
            f'This can\'t be posted here: it contains "{verdict.word}", which this space\'s moderators '
            "don't allow. Please change it and try again."
        )
    now = clock.now()
    links = markdown.links_in(text)
    if links and not trust.may_post_links(actor, now):
        raise Forbidden(link_refusal(actor, now, links[0]))
    guard.check(text, bool(confirmed))
    return verdict


def _shorten(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def link_refusal(actor: Account, now: datetime, link: str) -> str:
    """Why a new account's link is refused, and when that rule lifts for them."""
    stats = trust.stats_for(actor, now)
    still: list[str] = []
    age_left = trust.MEMBER_MIN_AGE - (now - actor.created_at)
    if age_left.total_seconds() > 0:
        hours = math.ceil(age_left.total_seconds() / 3600)
        when = f"{math.ceil(hours / 24)} days" if hours > 48 else f"{hours} hours"
        still.append(f"your account is {trust.MEMBER_MIN_AGE.days} days old (in about {when})")
    posts_left = trust.MEMBER_MIN_POSTS - stats.posts
    if posts_left > 0:
        still.append(f"you have written {trust.MEMBER_MIN_POSTS} posts or chat messages ({posts_left} to go)")
    if stats.upheld_against_recent:
        still.append(
            f"{trust.CLEAN_RECORD_WINDOW.days} days have passed since moderators last upheld a flag "
            "on something you wrote"
        )
    lifts = " and ".join(still) if still else "you have taken part a little longer"
    return (
        f"New accounts can't post links yet (we found {_shorten(link)}). This keeps spammers and "
        "people fishing for contacts out. Please take the link out and post again. "
        f"You can post links once {lifts}."
    )


def words(space_id: int, text: str) -> Verdict:
    """The watched-word verdict alone (an edit asks which part, title or body, matched)."""
    return watchwords.screen(space_id, text)


def apply(verdict: Verdict, kind: str, item: Any, space_name: str) -> bool:
    """Add the watched word's system flag (no commit); True if the item is now held."""
    target = Target(kind, item)
    if verdict.action == "hold":
        flags.system_flag(target, f'Held for approval: watched word "{verdict.word}"', hold=True)
        notices.notify(
            target.author_id,
            f'Your {flags.noun(target.kind)} in "{space_name}" is waiting for a moderator: it contains a '
            "word this space's moderators check first. Nobody else sees it until they approve it.",
        )
        return True
    if verdict.action == "flag":
        flags.system_flag(target, f'Watched word "{verdict.word}"')
    return False
