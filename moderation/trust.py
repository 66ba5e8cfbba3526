"""Trust levels, earned by taking part under a name, as named data and pure predicates.

Trust belongs to the name that is shown, never to the account behind it
(``forum/standing.py``): the everyday alias has one standing in every space where
it is shown, dating from the account's creation; each space name has its own, in
its space, dating from joining under it. One person's names never share a level,
so no effect of a level (a flag's weight, a refused link, a chat rate, an urgent
alert, a published bad-date report) can link them (docs/PRIVACY.md).

Levels (Lobsters-style: rules you can read, not a black box):

- 0 NEW: every name starts here. No links in posts or chat, a slower chat
  rate, cannot raise urgent alerts; its flags count for half.
- 1 MEMBER: ``MEMBER_MIN_AGE`` old, ``MEMBER_MIN_POSTS`` posts or chat messages,
  and no flag against its content upheld in the last ``CLEAN_RECORD_WINDOW``.
- 2 TRUSTED: ``TRUSTED_MIN_AGE`` old, ``TRUSTED_MIN_POSTS`` posts, a clean record,
  and mostly accurate flags (at most ``TRUSTED_MAX_DISMISSED_SHARE`` of its
  decided flags dismissed). A single "outing" flag from it hides at once.

An instance admin's everyday alias counts as TRUSTED (admins act under it); a
space name of an admin earns its level like anyone's. The numbers are counters on
the name's row (``forum.models.Standing``), kept in the transaction of each post,
chat message and flag decision; posts count up to ``standing.POSTS_KEPT``.

Flag weight, in hundredths (100 = one ordinary member's flag)::

    weight = LEVEL_WEIGHT[level] * accuracy_factor
    accuracy_factor = 0.5 + (upheld + 1) / (upheld + dismissed + 2)

``accuracy_factor`` is 1.0 with no history (Laplace smoothing), tends to 1.5 for
a name whose flags are always upheld and to 0.5 for one whose flags are
always dismissed. The result is clamped to ``[MIN_WEIGHT, MAX_WEIGHT]``. An item
is hidden when the open flags' weights sum to ``Space.flag_threshold * 100``:
three new members with no history weigh 3 x 50 = 150, which never hides an
item at the default threshold of 3; three members weigh 300, which does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from forum import clock
from forum import standing
from forum.extensions import db
from forum.models import Account
from forum.models import Membership
from moderation.models import FLAG_OPEN
from moderation.models import FLAG_UPHELD
from moderation.models import Flag

NEW, MEMBER, TRUSTED = 0, 1, 2

# Level 1: a few days and a few posts, with a clean record.
MEMBER_MIN_AGE = timedelta(days=3)
MEMBER_MIN_POSTS = 5
# No flag against their content upheld within this window (levels 1 and 2).
CLEAN_RECORD_WINDOW = timedelta(days=30)

# Level 2: a month of steady participation and mostly accurate flags.
TRUSTED_MIN_AGE = timedelta(days=30)
TRUSTED_MIN_POSTS = 50
TRUSTED_MAX_DISMISSED_SHARE = 0.25  # of their decided flags; none decided is fine
# The post counter stops where the highest rule stops needing it.
if TRUSTED_MIN_POSTS > standing.POSTS_KEPT:
    raise RuntimeError("standing.POSTS_KEPT must reach TRUSTED_MIN_POSTS")

# Flag weight per level, in hundredths of an ordinary member's flag.
LEVEL_WEIGHT = {NEW: 50, MEMBER: 100, TRUSTED: 150}
MIN_WEIGHT, MAX_WEIGHT = 25, 225

# Chat rate per level: the configuration key holding it (Flask-Limiter / limits
# syntax, checked per name), so operators tune it (forum/config.py).
CHAT_RATE = {NEW: "RB_LIMIT_CHAT_NEW", MEMBER: "RB_LIMIT_CHAT", TRUSTED: "RB_LIMIT_CHAT_TRUSTED"}


@dataclass(frozen=True)
class Stats:
    """What the predicates need to know about one name (read from its row, no query)."""

    since: datetime  # when the name began (account creation, or joining under a space name)
    posts: int = 0  # posts and chat messages written under it (up to standing.POSTS_KEPT)
    upheld_on: datetime | None = None  # the day a flag on its content was last upheld
    flags_upheld: int = 0  # its own flags that moderators upheld
    flags_dismissed: int = 0  # its own flags that moderators dismissed
    admin: bool = False  # an instance admin's everyday alias
    space_name: bool = False  # a name used only in one space (for wording)


def stats_for(account: Account, membership: Membership | None) -> Stats:
    """The standing of the name ``account`` shows where it is a member as ``membership``
    (None: not a member, so their everyday alias)."""
    row = standing.holder(membership) if membership is not None else account
    space_name = row is membership
    return Stats(
        since=standing.since(membership, account),
        posts=row.trust_posts or 0,
        upheld_on=row.trust_upheld_on,
        flags_upheld=row.trust_flags_upheld or 0,
        flags_dismissed=row.trust_flags_dismissed or 0,
        admin=account.is_admin and not space_name,
        space_name=space_name,
    )


def stats_in(account: Account, space_id: int) -> Stats:
    """The standing of the name ``account`` shows in the space (one indexed lookup)."""
    return stats_for(account, standing.membership_in(account.id, space_id))


# --- Pure predicates: (stats, now) -> answer ------------------------------------


@dataclass(frozen=True)
class Shortfall:
    """What a name still lacks for level 1 (all falsy: nothing)."""

    age_left: timedelta | None  # until MEMBER_MIN_AGE
    posts_left: int  # until MEMBER_MIN_POSTS
    recent_upheld: bool  # a flag against its content upheld within CLEAN_RECORD_WINDOW

    def __bool__(self) -> bool:
        return bool(self.age_left or self.posts_left or self.recent_upheld)


def recently_upheld(stats: Stats, now: datetime) -> bool:
    """A flag on its content was upheld within CLEAN_RECORD_WINDOW. The day is kept,
    not the time: the window counts from the end of that day, so it never lifts early."""
    if stats.upheld_on is None:
        return False
    return now < stats.upheld_on + timedelta(days=1) + CLEAN_RECORD_WINDOW


def member_shortfall(stats: Stats, now: datetime) -> Shortfall:
    """The level-1 rule, condition by condition (so refusals can say what is missing)."""
    age_left = MEMBER_MIN_AGE - (now - stats.since)
    return Shortfall(
        age_left=age_left if age_left > timedelta(0) else None,
        posts_left=max(0, MEMBER_MIN_POSTS - stats.posts),
        recent_upheld=recently_upheld(stats, now),
    )


def can_be_member(stats: Stats, now: datetime) -> bool:
    return not member_shortfall(stats, now)


def can_be_trusted(stats: Stats, now: datetime) -> bool:
    decided = stats.flags_upheld + stats.flags_dismissed
    accurate = decided == 0 or stats.flags_dismissed <= TRUSTED_MAX_DISMISSED_SHARE * decided
    return (
        now - stats.since >= TRUSTED_MIN_AGE
        and stats.posts >= TRUSTED_MIN_POSTS
        and not recently_upheld(stats, now)
        and accurate
    )


def level_of(stats: Stats, now: datetime) -> int:
    if stats.admin or can_be_trusted(stats, now):
        return TRUSTED
    if can_be_member(stats, now):
        return MEMBER
    return NEW


def can_hide_outing_alone(stats: Stats, now: datetime) -> bool:
    """A single "outing / personal information" flag from this name hides at once."""
    return level_of(stats, now) >= TRUSTED


def flag_weight(stats: Stats, now: datetime) -> int:
    """The weight of this name's next flag, in hundredths (see the module docstring)."""
    base = LEVEL_WEIGHT[level_of(stats, now)]
    up, down = stats.flags_upheld, stats.flags_dismissed
    factor = 0.5 + (up + 1) / (up + down + 2)
    return max(MIN_WEIGHT, min(MAX_WEIGHT, round(base * factor)))


def rate_for_level(level: int) -> str:
    """The configured chat rate for a level (needs an app context)."""
    return current_app.config[CHAT_RATE[level]]


# --- Conveniences for other services: the name shown in a space -----------------


def level(account: Account, membership: Membership | None, now: datetime) -> int:
    return level_of(stats_for(account, membership), now)


def may_post_links(account: Account, membership: Membership | None, now: datetime) -> bool:
    """Links in posts and chat (moderation/screening.py): from level 1 (MEMBER) up."""
    return level(account, membership, now) >= MEMBER


def chat_rate(account: Account, membership: Membership | None, now: datetime) -> str:
    """A Flask-Limiter rate string for this name's chat messages (no query: rows in hand)."""
    return rate_for_level(level(account, membership, now))


def can_raise_alert(account: Account, membership: Membership | None, now: datetime) -> bool:
    """Urgent (bad-date) alerts: not from brand-new names (level 1, MEMBER, up)."""
    return level(account, membership, now) >= MEMBER


# --- Keeping the counters: flag decisions (posts: forum/standing.py count_post) ------


def record_decision(
    kind: str,
    target_id: int,
    space_id: int,
    status: str,
    author_id: int | None,
    author_name: str,
) -> None:
    """Count a moderator's decision on an item's open flags, before they are resolved
    (no commit): each flagging name's upheld or dismissed count; for an upheld
    decision, the day, on the name the item was written under."""
    rows = db.session.execute(
        sa.select(Flag.flagger_id, Flag.created_at).where(
            Flag.target_kind == kind, Flag.target_id == target_id, Flag.status == FLAG_OPEN
        )
    ).all()
    if not rows:
        return
    upheld = status == FLAG_UPHELD
    for flagger_id, flagged_at in rows:
        if flagger_id is None:
            continue  # the system's own flag (a watched word)
        row = standing.holder_of_flagger(flagger_id, space_id, flagged_at)
        if row is None:
            continue
        column = type(row).trust_flags_upheld if upheld else type(row).trust_flags_dismissed
        setattr(row, column.key, column + 1)
    if upheld:
        row = standing.holder_of_author(author_id, space_id, author_name)
        if row is not None:
            row.trust_upheld_on = clock.today()
