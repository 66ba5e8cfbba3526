"""The one screening path: every post, reply, edit, title and chat message passes it.

``check(actor, space_id, parts, confirmed=...)`` runs, in this order, before
anything is stored:

1. the space's watched words (``moderation.watchwords.screen``): "block" refuses
   the text (``Invalid``); "hold" and "flag" let it through and come back as the
   verdict, for :func:`apply` once the row exists;
2. links from new names (``moderation.trust``, the level of the name the author
   shows in the space, never of their account): a text with a
   link, found exactly as the Markdown renderer would make one
   (``forum.markdown.links_in``; chat renders inline, so ``inline=True``), is
   refused (``Forbidden``) with why and when the rule lifts;
3. the privacy guard (``moderation.guard.check``): likely phone numbers, email
   addresses and street addresses raise ``NeedsConfirmation`` (422) until the
   author confirms ("Post it anyway").

``parts`` are every field others will read (title, content warning, body).

``apply(verdict, kind, item, space_name)`` then adds the system flag in the
caller's transaction: "hold" hides the item until a moderator keeps it and
tells the author; "flag" puts it in the review queue and leaves it showing.

Forum services reach this module through ``forum/screening.py`` (registered by
``moderation.init_app``); chat (``realtime/chat.py``) calls it directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from babel.lists import format_list
from flask_babel import format_timedelta
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import ngettext

from forum import clock
from forum import markdown
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.models import Account
from forum.screening import Verdict
from moderation import flags
from moderation import guard
from moderation import notices
from moderation import trust
from moderation import watchwords
from moderation.targets import Target


def _joined(parts: Sequence[object]) -> str:
    return "\n\n".join(part for part in parts if isinstance(part, str) and part)


def check(
    actor: Account,
    space_id: int,
    parts: Sequence[str | None],
    *,
    confirmed: bool,
    title: str | None = None,
    inline: bool = False,
    links: Sequence[str] | None = None,
    words: list | None = None,
    membership: Any = None,
) -> Verdict:
    """Refuse (Invalid, Forbidden, NeedsConfirmation) or return the watched-word verdict.

    ``title`` is screened with the ``parts``; the verdict says whether the word
    was in it. ``inline``: the text is shown by ``markdown.render_inline`` (chat).
    ``links``: the links of ``parts`` (and ``title``) as the caller's own render of them
    found (``markdown.render_inline_with_links``: chat parses its message once), instead
    of parsing them again here. ``words``: the space's watched words as the caller read
    them (``watchwords.words_of_space``), instead of reading them again here.
    ``membership``: the actor's membership of the space as the caller holds it (a chat
    send: a plain row), so the name's standing is not looked up again; None: looked up.
    """
    fields = [title, *parts] if title is not None else list(parts)
    text = _joined(fields)
    verdict = watchwords.screen(space_id, text, words)
    if verdict.action == "block":
        raise Invalid(
            _(
                'This can\'t be posted here: it contains "%(word)s", which this space '
                "doesn't allow (its moderators chose this). Please change it and try "
                "again.",
                word=verdict.word,
            )
        )
    # Each part is rendered on its own, so each is searched on its own.
    if links is None:
        links = [link for part in fields if part for link in markdown.links_in(part, inline=inline)]
    now = clock.now()
    if links:
        stats = (  # the name shown in this space
            trust.stats_in(actor, space_id)
            if membership is None
            else trust.stats_for(actor, membership)
        )
        if trust.level_of(stats, now) < trust.MEMBER:
            raise Forbidden(link_refusal(stats, now, links[0]))
    guard.check(text, bool(confirmed))
    if verdict.action != "allow" and title and watchwords.screen(space_id, title).action != "allow":
        return Verdict(verdict.action, verdict.word, in_title=True)
    return verdict


def _shorten(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def link_refusal(stats: trust.Stats, now: datetime, link: str) -> str:
    """Why a new name's link is refused, and when that rule lifts for it (in the reader's
    language: the refusal is raised in the request or socket event that asked)."""
    missing = trust.member_shortfall(stats, now)
    still: list[str] = []
    if missing.age_left:
        when = format_timedelta(missing.age_left, granularity="hour", add_direction=True)
        days = trust.MEMBER_MIN_AGE.days
        if stats.space_name:
            still.append(
                ngettext(
                    "you have used this space name here for %(num)s day (%(when)s)",
                    "you have used this space name here for %(num)s days (%(when)s)",
                    days,
                    when=when,
                )
            )
        else:
            still.append(
                ngettext(
                    "your account is %(num)s day old (%(when)s)",
                    "your account is %(num)s days old (%(when)s)",
                    days,
                    when=when,
                )
            )
    if missing.posts_left:
        still.append(
            ngettext(
                "you have written %(num)s post or chat message under this name (%(left)s to go)",
                "you have written %(num)s posts or chat messages under this name (%(left)s to go)",
                trust.MEMBER_MIN_POSTS,
                left=missing.posts_left,
            )
        )
    if missing.recent_upheld:
        still.append(
            ngettext(
                "%(num)s day has passed since moderators last upheld a flag on something you "
                "wrote under this name",
                "%(num)s days have passed since moderators last upheld a flag on something you "
                "wrote under this name",
                trust.CLEAN_RECORD_WINDOW.days,
            )
        )
    lifts = (
        format_list(still, locale=get_locale() or "en")
        if still
        else _("you have taken part a little longer")
    )
    if stats.space_name:
        return _(
            "New space names can't post links yet (we found %(link)s). This keeps spammers and "
            "people fishing for contacts out. Please take the link out and post again. You can "
            "post links once %(lifts)s.",
            link=_shorten(link),
            lifts=lifts,
        )
    return _(
        "New accounts can't post links yet (we found %(link)s). This keeps spammers and "
        "people fishing for contacts out. Please take the link out and post again. You can "
        "post links once %(lifts)s.",
        link=_shorten(link),
        lifts=lifts,
    )


def apply(verdict: Verdict, kind: str, item: Any, space_name: str) -> dict[str, Any] | None:
    """Add the watched word's system flag to the stored item (no commit).

    Returns the item's ``content_hidden`` payload if it is now held, else None.
    """
    target = Target(kind, item)
    if verdict.action == "hold":
        flags.system_flag(target, verdict.word, hold=True)
        notices.notify(
            target.author_id,
            "held",
            {"space": target.space_id, "kind": target.kind},
            target=target,
        )
        return target.payload()
    if verdict.action == "flag":
        flags.system_flag(target, verdict.word)
    return None
