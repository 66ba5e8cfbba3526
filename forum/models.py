"""Forum tables: accounts and their sessions (spaces and threads join them here).

Privacy rule for every table in this project: no column for an email, phone
number, legal name, birth date, IP address or user agent. ``tests/test_privacy.py``
checks the whole metadata for such names.
"""

from __future__ import annotations

from dataclasses import make_dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from markupsafe import Markup

from forum import markdown
from forum.dbtypes import UTCDateTime
from forum.extensions import db
from forum.sealed import DAY
from forum.sealed import Epoch
from forum.sealed import SealedText

# The name shown on what stays of a deleted account's content, everywhere.
DELETED_NAME = "[deleted]"  # shown in the reader's words: forum/i18n.py shown_name


class Standing:
    """Trust counters, kept on the row of the name they belong to (``forum/standing.py``).

    The everyday alias keeps them on the account, a space name on its membership.
    Updated in the transaction of the write or decision they count; nothing counts
    anyone's history when a level is needed.
    """

    # Posts and chat messages written under this name, up to standing.POSTS_KEPT.
    trust_posts: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    # This name's own flags that moderators decided (upheld / dismissed).
    trust_flags_upheld: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    trust_flags_dismissed: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    # The day (midnight UTC) moderators last upheld a flag on something written under it.
    trust_upheld_on: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())


class Account(Standing, db.Model):
    """An alias and a passphrase hash: all we know about a person."""

    __tablename__ = "accounts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    alias: so.Mapped[str] = so.mapped_column(sa.String(64))
    # Casefolded confusable skeleton of the alias: the uniqueness key (forum/aliases.py).
    alias_key: so.Mapped[str] = so.mapped_column(sa.String(128), unique=True)
    passphrase_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    is_admin: so.Mapped[bool] = so.mapped_column(default=False)
    discreet: so.Mapped[bool] = so.mapped_column(default=False)
    locale: so.Mapped[str | None] = so.mapped_column(sa.String(8))
    # The IANA zone times are shown in, if the member chose one (forum/i18n.py); optional,
    # and no closer to a place than a zone: the browser's zone does the same without it.
    time_zone: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    # False from sign-up (or new codes) until the member types one of them back: until
    # then every page leads to the recovery-codes step (forum/views/auth.py).
    codes_confirmed: so.Mapped[bool] = so.mapped_column(default=True, server_default=sa.true())
    # Set by an instance admin; a suspended account cannot sign in or post anywhere.
    suspended_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    sessions: so.WriteOnlyMapped[AuthSession] = so.relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True
    )
    recovery_codes: so.WriteOnlyMapped[RecoveryCode] = so.relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Account {self.id}>"


class AuthSession(db.Model):
    """A signed-in browser. The cookie holds a random token; we keep its SHA-256."""

    __tablename__ = "auth_sessions"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    last_seen_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    # All three kept to the day (forum/sessions.py). Absolute end of life; the idle
    # limit is checked against last_seen_at.
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)

    account: so.Mapped[Account] = so.relationship(back_populates="sessions")


class RecoveryCode(db.Model):
    """One unspent recovery code, hashed. Spending it deletes the row."""

    __tablename__ = "recovery_codes"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    account_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    code_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)


# --- Organisations and spaces -------------------------------------------------

SPACE_KINDS = ("open", "closed", "hidden")
ROLES = ("member", "moderator", "owner")  # ordered: each includes the powers before it


class Organisation(db.Model):
    """An NGO or clinic that hosts closed or hidden spaces. Staff are ordinary aliases."""

    __tablename__ = "organisations"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    description: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())


class OrgStaff(db.Model):
    __tablename__ = "org_staff"

    organisation_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Space(db.Model):
    """A peer-support space: forum threads and chat rooms, with its own rules and retention."""

    __tablename__ = "spaces"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    description: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    rules: so.Mapped[str] = so.mapped_column(sa.Text, default="")  # Markdown
    kind: so.Mapped[str] = so.mapped_column(sa.String(10), default="open")  # SPACE_KINDS
    organisation_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    join_question: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    # Retention (issue: automatic expiry). None for posts means "keep" where allowed.
    chat_retention_hours: so.Mapped[int] = so.mapped_column(default=24)
    # No column default: SQLAlchemy would also apply it to an explicit None ("keep");
    # the constructor below supplies 90 only when the argument is absent.
    post_retention_days: so.Mapped[int | None] = so.mapped_column()
    # Chat presence: the count is always shown; the list of who only if enabled.
    show_online_list: so.Mapped[bool] = so.mapped_column(default=False)
    typing_indicator: so.Mapped[bool] = so.mapped_column(default=False)
    # Moderation settings.
    flag_threshold: so.Mapped[int] = so.mapped_column(default=3)
    modlog_names_moderator: so.Mapped[bool] = so.mapped_column(default=False)

    organisation: so.Mapped[Organisation | None] = so.relationship()

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("post_retention_days", 90)
        super().__init__(**kwargs)


class MembershipRules:
    """A membership's name and role rules, for the entity (:class:`Membership`) and its
    plain row (:data:`MembershipRow`) alike: each rule is written once, here."""

    __slots__ = ()

    @property
    def display_name(self) -> str:
        return self.space_alias or self.account.alias

    @property
    def persona(self) -> str:
        """A key for the name shown here: the everyday alias is one name in every space,
        a space name is its own. Per-person limits count per name, never per account, so
        nothing others can notice is shared between one person's names (docs/PRIVACY.md)."""
        if self.space_alias is None:
            return f"a{self.account_id}"
        return f"a{self.account_id}s{self.space_id}"

    def has_role(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


class Membership(MembershipRules, Standing, db.Model):
    """An account in a space, with a role and, optionally, a name used only there."""

    __tablename__ = "memberships"
    __table_args__ = (
        sa.UniqueConstraint("space_id", "account_id"),
        # The name shown in this space (space alias or everyday alias), by skeleton.
        sa.UniqueConstraint("space_id", "name_key"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    account_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    role: so.Mapped[str] = so.mapped_column(sa.String(10), default="member")  # ROLES
    # A space alias, or None to show the everyday alias.
    space_alias: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    name_key: so.Mapped[str] = so.mapped_column(sa.String(128))
    joined_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    muted_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    space: so.Mapped[Space] = so.relationship()
    account: so.Mapped[Account] = so.relationship()


# --- plain rows ------------------------------------------------------------------------
#
# The hottest path (every chat send: the socket's session check, then the room, its space
# and the sender's membership) only reads these rows, and loading them as ORM entities
# (identity map, instance state, the ORM's execution path) was a third of a send's CPU.
# There they are read as plain columns into these frozen rows instead: the same attribute
# names as the model's columns, so the rules (access, trust, standing, screening) take
# either; never in the session, never written through. A rule that needs more than a
# column lives on the model side once (``MembershipRules``) and both share it.


def plain_row(
    model: type, *, omit: tuple[str, ...] = (), extra: tuple[str, ...] = (), bases: tuple = ()
) -> type:
    """A frozen row class with ``model``'s columns as fields (less ``omit``), then ``extra``
    fields (values the caller hands over, not columns). ``Row.model`` is the model,
    ``Row.columns`` the columns in field order: ``Row(*statement_row[:len(Row.columns)])``."""
    columns = tuple(c for c in model.__table__.columns if c.key not in omit)
    names = [c.key for c in columns] + list(extra)
    row = make_dataclass(
        f"{model.__name__}Row",
        names,
        bases=bases,
        frozen=True,
        slots=True,
        namespace={"__module__": __name__},
    )
    row.model = model
    row.columns = columns
    row.__doc__ = f"A ``{model.__name__}`` read as plain columns (read-only, not in the session)."
    return row


# No passphrase hash: no event needs it, so it is never read for one.
AccountRow = plain_row(Account, omit=("passphrase_hash",))
SpaceRow = plain_row(Space)
# ``account``: the account it belongs to, as the caller holds it (its alias is the name
# shown when there is no space alias).
MembershipRow = plain_row(Membership, extra=("account",), bases=(MembershipRules,))


class JoinRequest(db.Model):
    """A request to join a closed space, answered by its moderators."""

    __tablename__ = "join_requests"
    __table_args__ = (sa.UniqueConstraint("space_id", "account_id"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    account_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    answer: so.Mapped[str] = so.mapped_column(sa.String(1000), default="")
    space_alias: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())


class Invite(db.Model):
    """An invite link. Only the code's hash is kept; the link is shown once."""

    __tablename__ = "invites"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    code_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    label: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    created_by: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    max_uses: so.Mapped[int | None] = so.mapped_column()
    uses: so.Mapped[int] = so.mapped_column(default=0)
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())


# --- Forum --------------------------------------------------------------------


class Authored:
    """What every text a member writes in a space carries (threads, posts, chat messages,
    urgent alerts): one rule for what happens to it when its space or its author goes.

    - ``space_id``: it goes with its space (and lets search and sweeps filter by space
      without a join);
    - ``author_id``: SET NULL, so content kept after its author deleted the account
      stays, with no link back to them;
    - ``author_name``: the name shown when it was written (the space alias or the alias),
      so no page needs the author's other names; "[deleted]" after erasure;
    - ``hidden_at``: a moderator (or enough flags) hid it.
    """

    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    author_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    author_name: so.Mapped[str] = so.mapped_column(sa.String(64))
    hidden_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())


class Thread(Authored, db.Model):
    """A forum thread. Its title and first post expire with it.

    Title and content warning are sealed under the key of the space's day of expiry
    (forum/sealed.py), as are the posts' body, its HTML and content warning.
    """

    __tablename__ = "threads"
    __sealed__ = Epoch(scope="space_id", expires="expires_at", length=DAY)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    title: so.Mapped[str] = so.mapped_column(SealedText(300))
    content_warning: so.Mapped[str | None] = so.mapped_column(SealedText(150))
    pinned: so.Mapped[bool] = so.mapped_column(default=False)
    locked: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    last_post_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)
    expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime(), index=True)

    space: so.Mapped[Space] = so.relationship()


class Post(Authored, db.Model):
    """A post in a thread (the first post carries the thread's body)."""

    __tablename__ = "posts"
    __sealed__ = Epoch(scope="space_id", expires="expires_at", length=DAY)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    thread_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("threads.id", ondelete="CASCADE"), index=True
    )
    body: so.Mapped[str] = so.mapped_column(SealedText())
    content_warning: so.Mapped[str | None] = so.mapped_column(SealedText(150))
    is_first: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)
    edited_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    expires_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime(), index=True)
    # ``body`` rendered (forum/markdown.py), written with every change of ``body`` (the
    # listener below), so a page view renders nothing: it is user text like ``body``,
    # lives and goes in the same row, and is rewritten by every edit, erasure and
    # redaction. NULL only for rows written before migration 0012 filled it.
    body_html: so.Mapped[str | None] = so.mapped_column(SealedText())

    thread: so.Mapped[Thread] = so.relationship()

    @property
    def html(self) -> Markup:
        """The post as safe HTML, as stored when it was written or edited."""
        if self.body_html is None:
            return markdown.render(self.body)
        # B704 and the markup rule waived: the renderer's own output, written only by the
        # listener below (raw HTML off; tests/test_markdown.py, tests/test_page_cost.py).
        return Markup(self.body_html)  # nosec B704  # nosemgrep: semgrep.markup-on-user-text


@sa.event.listens_for(Post.body, "set")
def _render_body(target: Post, value: object, _old: object, _initiator: object) -> None:
    """Every write of a post's text (new, edit, erasure, redaction) renders it once."""
    target.body_html = str(markdown.render(value)) if isinstance(value, str) else None


class ThreadFollow(db.Model):
    """An account follows a thread; replies after ``last_seen_post_id`` are its updates."""

    __tablename__ = "thread_follows"

    account_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    thread_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    last_seen_post_id: so.Mapped[int] = so.mapped_column(default=0)


class SearchGone(db.Model):
    """Search-index entries to remove: filled by database triggers (migration 0014) on
    every delete of a post (its id) or thread (minus its id), cascades included;
    ``search.compact`` removes those entries from the vault's index and empties this."""

    __tablename__ = "search_gone"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    doc: so.Mapped[int] = so.mapped_column()
