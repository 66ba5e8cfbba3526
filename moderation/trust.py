"""Trust levels, earned by taking part, as named data and pure predicates.

Levels (Lobsters-style: rules you can read, not a black box):

- 0 NEW: every account starts here. No links in posts or chat, a slower chat
  rate, cannot raise urgent alerts; their flags count for half.
- 1 MEMBER: ``MEMBER_MIN_AGE`` old, ``MEMBER_MIN_POSTS`` posts or chat messages,
  and no flag against their content upheld in the last ``CLEAN_RECORD_WINDOW``.
- 2 TRUSTED: ``TRUSTED_MIN_AGE`` old, ``TRUSTED_MIN_POSTS`` posts, a clean record,
  and mostly accurate flags (at most ``TRUSTED_MAX_DISMISSED_SHARE`` of their
  decided flags dismissed). A single "outing" flag from them hides at once.

Instance admins count as TRUSTED. Counts come from rows that still exist: expired
chat and posts stop counting when the sweeper deletes them (short memory is
the price of keeping little).

Flag weight, in hundredths (100 = one ordinary member's flag)::

    weight = LEVEL_WEIGHT[level] * accuracy_factor
    accuracy_factor = 0.5 + (upheld + 1) / (upheld + dismissed + 2)

``accuracy_factor`` is 1.0 with no history (Laplace smoothing), tends to 1.5 for
someone whose flags are always upheld and to 0.5 for someone whose flags are
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

from forum.extensions import db
from forum.models import Account
from moderation import targets
from moderation.models import FLAG_DISMISSED
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

# Flag weight per level, in hundredths of an ordinary member's flag.
LEVEL_WEIGHT = {NEW: 50, MEMBER: 100, TRUSTED: 150}
MIN_WEIGHT, MAX_WEIGHT = 25, 225

# Chat rate per level: the configuration key holding it (Flask-Limiter / limits
# syntax, checked per account), so operators tune it (forum/config.py).
CHAT_RATE = {NEW: "RB_LIMIT_CHAT_NEW", MEMBER: "RB_LIMIT_CHAT", TRUSTED: "RB_LIMIT_CHAT_TRUSTED"}


@dataclass(frozen=True)
class Stats:
    """What the predicates need to know about an account's history."""

    posts: int = 0  # forum posts + chat messages still stored
    upheld_against_recent: int = 0  # flags against their content upheld in CLEAN_RECORD_WINDOW
    flags_upheld: int = 0  # their own flags that moderators upheld
    flags_dismissed: int = 0  # their own flags that moderators dismissed


def stats_for(account: Account, now: datetime) -> Stats:
    """Count the account's history (a few indexed COUNT queries)."""
    count = sa.func.count()
    written = 0
    for kind in sorted(targets.CONTRIBUTIONS):  # forum posts and chat messages
        model = targets.MODELS[kind]
        written += (
            db.session.scalar(
                sa.select(count).select_from(model).where(model.author_id == account.id)
            )
            or 0
        )
    against = db.session.scalar(
        sa.select(count)
        .select_from(Flag)
        .where(
            Flag.author_id == account.id,
            Flag.status == FLAG_UPHELD,
            Flag.resolved_at > now - CLEAN_RECORD_WINDOW,
        )
    )
    rows = dict(
        db.session.execute(
            sa.select(Flag.status, count)
            .where(Flag.flagger_id == account.id, Flag.status.in_((FLAG_UPHELD, FLAG_DISMISSED)))
            .group_by(Flag.status)
        ).all()
    )
    return Stats(
        posts=written,
        upheld_against_recent=against or 0,
        flags_upheld=rows.get(FLAG_UPHELD, 0),
        flags_dismissed=rows.get(FLAG_DISMISSED, 0),
    )


# --- Pure predicates: (account, stats, now) -> answer ---------------------------


@dataclass(frozen=True)
class Shortfall:
    """What an account still lacks for level 1 (all falsy: nothing)."""

    age_left: timedelta | None  # until MEMBER_MIN_AGE
    posts_left: int  # until MEMBER_MIN_POSTS
    recent_upheld: bool  # a flag against their content upheld within CLEAN_RECORD_WINDOW

    def __bool__(self) -> bool:
        return bool(self.age_left or self.posts_left or self.recent_upheld)


def member_shortfall(account: Account, stats: Stats, now: datetime) -> Shortfall:
    """The level-1 rule, condition by condition (so refusals can say what is missing)."""
    age_left = MEMBER_MIN_AGE - (now - account.created_at)
    return Shortfall(
        age_left=age_left if age_left > timedelta(0) else None,
        posts_left=max(0, MEMBER_MIN_POSTS - stats.posts),
        recent_upheld=stats.upheld_against_recent > 0,
    )


def can_be_member(account: Account, stats: Stats, now: datetime) -> bool:
    return not member_shortfall(account, stats, now)


def can_be_trusted(account: Account, stats: Stats, now: datetime) -> bool:
    decided = stats.flags_upheld + stats.flags_dismissed
    accurate = decided == 0 or stats.flags_dismissed <= TRUSTED_MAX_DISMISSED_SHARE * decided
    return (
        now - account.created_at >= TRUSTED_MIN_AGE
        and stats.posts >= TRUSTED_MIN_POSTS
        and stats.upheld_against_recent == 0
        and accurate
    )


def level_of(account: Account, stats: Stats, now: datetime) -> int:
    if account.is_admin or can_be_trusted(account, stats, now):
        return TRUSTED
    if can_be_member(account, stats, now):
        return MEMBER
    return NEW


def can_hide_outing_alone(account: Account, stats: Stats, now: datetime) -> bool:
    """A single "outing / personal information" flag from them hides at once."""
    return level_of(account, stats, now) >= TRUSTED


def flag_weight(account: Account, stats: Stats, now: datetime) -> int:
    """The weight of their next flag, in hundredths (see the module docstring)."""
    base = LEVEL_WEIGHT[level_of(account, stats, now)]
    up, down = stats.flags_upheld, stats.flags_dismissed
    factor = 0.5 + (up + 1) / (up + down + 2)
    return max(MIN_WEIGHT, min(MAX_WEIGHT, round(base * factor)))


def rate_for_level(level: int) -> str:
    """The configured chat rate for a level (needs an app context)."""
    return current_app.config[CHAT_RATE[level]]


# --- Conveniences for other services: (account, now), stats looked up -----------


def level(account: Account, now: datetime) -> int:
    return level_of(account, stats_for(account, now), now)


def may_post_links(account: Account, now: datetime) -> bool:
    """Links in posts and chat (moderation/screening.py): from level 1 (MEMBER) up."""
    return level(account, now) >= MEMBER


def chat_rate(account: Account, now: datetime) -> str:
    """A Flask-Limiter rate string for this account's chat messages."""
    return rate_for_level(level(account, now))


def can_raise_alert(account: Account, now: datetime) -> bool:
    """Urgent (bad-date) alerts: not from brand-new accounts (level 1, MEMBER, up)."""
    return level(account, now) >= MEMBER
