"""Chat services: rooms, messages, history, presence, typing.

One function per action, called by the HTTP views (realtime/views.py) and the
Socket.IO namespace (realtime/namespace.py) alike. Authorisation is here:
chat needs membership of the space, in open spaces too (reading an open space's
threads does not make someone part of its live conversation). Non-members of a
closed or hidden space get NotFound, as for anything there; signed-in
non-members of an open space get Forbidden ("join first").

Ordering, and why no acknowledged message is lost:

- In the database, commits happen in seq order. A message's ``seq`` is allocated by
  ``UPDATE chat_rooms SET last_seq = last_seq + 1 ... RETURNING`` in the transaction
  that inserts it; the row lock (PostgreSQL) or the write lock (SQLite) holds the next
  sender until this one commits or rolls back (a rollback gives the number back). So a
  read that sees ``last_seq = N`` sees every message up to N: a resume answer
  (``messages_after``) says which range it covers (``through``), and a seq in that
  range it does not return is gone for this reader (hidden, expired, deleted, blocked).
- Live delivery is NOT in seq order across processes: each process publishes its own
  commits through Redis, so seq 7 may reach a client after seq 8. Clients therefore
  keep the highest seq up to which they have everything (not the highest they saw),
  resume after that one, and when a higher seq shows a gap they wait briefly and ask
  for the range (``history`` with ``after_seq``); they drop repeats by seq.
- A process may die between the commit and the broadcast. The author still holds the
  message unacknowledged and retries with the same ``client_id``; the retry finds the
  stored row, acks it and announces it to the room again (``_announce_again``), and
  the gap filling above covers anyone who missed that too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from forum import clock
from forum import disk
from forum import i18n
from forum import markdown
from forum import ratelimit
from forum import retention
from forum import sealed
from forum import signals
from forum import standing
from forum import statements
from forum import text
from forum.access import MAX_ID
from forum.access import SpaceAccess
from forum.access import Written
from forum.access import access_space
from forum.access import access_space_by_id
from forum.access import access_space_loaded
from forum.access import blocked
from forum.access import live
from forum.access import prebuilt
from forum.access import row_id
from forum.access import shows
from forum.access import visible
from forum.dbtypes import UTCDateTime
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.errors import NotFound
from forum.errors import RateLimited
from forum.extensions import db
from forum.models import DELETED_NAME
from forum.models import Account
from forum.models import AccountRow
from forum.models import Membership
from forum.models import MembershipRow
from forum.models import Space
from forum.models import SpaceRow
from forum.pagination import Page
from forum.pagination import paged
from forum.pagination import paginate
from forum.sealed import SealedStr
from moderation import guard
from moderation import screening
from moderation import trust
from moderation import watchwords
from realtime import sockets
from realtime.models import ChatMessage
from realtime.models import ChatRoom
from realtime.models import ChatSocket
from realtime.models import ChatSocketRoom
from realtime.models import RoomRow

MAX_ROOMS = 20  # per space, archived ones included: the room list is never long
ROOMS_PER_PAGE = MAX_ROOMS  # so one page holds them all
MAX_ROOM_NAME = 60
PAGE = 50  # messages per page of history (HTTP page and the `history` event)
RESUME_MAX = 500  # messages per `join` batch; the client asks again when `more` is set
MAX_SEQ = MAX_ID  # seq is an INTEGER column (and well inside what a JavaScript number holds)
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")

# Rate limits (limits syntax). Messages: per trust level (moderation/trust.py chat_rate).
TYPING_RATE = "1 per 3 seconds"
# Re-announcing a stored message on a retry (each costs a broadcast): past this the retry
# is still acked, just not broadcast again (the others' gap filling fetches it anyway).
REANNOUNCE_RATE = "20 per minute"
MAX_FINDINGS = guard.MAX_FINDINGS_SHOWN  # privacy-guard findings sent back, as the forum form shows

HELD = _l("Your message is held for a moderator to check before others see it.")


# --- input ----------------------------------------------------------------------


def clean_body(body: object) -> str:
    return text.clean(body, _("message"), markdown.MAX_CHAT_CHARS, multiline=True)


def clean_room_name(name: object) -> str:
    return text.clean(name, _("room name"), MAX_ROOM_NAME, name=True)


def clean_client_id(client_id: object) -> str:
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        raise Invalid(_("This message has no valid id. Please reload the page and send it again."))
    return client_id


def clean_seq(value: object, *, default: int | None = None) -> int:
    """A message number from a client: a whole number from 0 up."""
    if value is None and default is not None:
        return default
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise Invalid(_("That message number is not valid."))
    return value


# --- access ---------------------------------------------------------------------


def access_room(
    account: Account | AccountRow | None, room_id: object, slug: object = None
) -> tuple[ChatRoom | RoomRow, SpaceAccess]:
    """A room the actor may use: member of its space (instance admins may read).

    Without ``slug`` (socket events) the room, space and membership come back as plain
    rows (``forum/models.py``), read-only; with one (pages, owners' changes), entities.

    With ``slug`` (HTTP), the room must belong to that space. A missing room, a room
    in a space the actor may not see and a room of another space are the same
    NotFound, word for word: nobody learns which rooms a hidden space has.
    """
    by_id = isinstance(slug, int) and not isinstance(slug, bool)  # every link the app makes
    if slug is None and account is not None:  # socket events: plain rows
        room, access, _stored, _words = _room_plain(account, room_id)
        return room, access
    if by_id and account is not None:  # pages (and owners' changes): entities
        return _room_in_one(account, room_id, space_id=slug)
    room = db.session.get(ChatRoom, row_id(room_id))
    if slug is not None:
        access = access_space(account, slug)
        if room is None or access.space.id != room.space_id:
            raise NotFound()
    elif room is None:
        raise NotFound()
    else:
        access = access_space_by_id(account, room.space_id)
    _require_chat(access)
    return room, access


_ROOM_SPACE_MEMBERSHIP = (
    sa.select(ChatRoom, Space, Membership)
    .join(Space, Space.id == ChatRoom.space_id)
    .outerjoin(
        Membership,
        sa.and_(
            Membership.space_id == ChatRoom.space_id,
            Membership.account_id == sa.bindparam("account_id"),
        ),
    )
    .where(ChatRoom.id == sa.bindparam("room_id"))
)


def _room_in_one(account: Account, room_id: object, space_id: int) -> tuple[ChatRoom, SpaceAccess]:
    """:func:`access_room` for a page reached by its space's id: the room, its space and
    the actor's membership as entities (the page and an owner's change use them) in one
    statement built once (three built per call cost more than the queries). A room of
    another space is missing."""
    params = {"room_id": row_id(room_id), "account_id": account.id}
    found = db.session.execute(_ROOM_SPACE_MEMBERSHIP, params).one_or_none()
    if found is None:
        raise NotFound()
    room, space, membership = found
    return room, _room_access(account, space, membership, space_id)


def _room_access(
    account: Account | AccountRow,
    space: Space | SpaceRow,
    membership: Membership | MembershipRow | None,
    space_id: int | None = None,
) -> SpaceAccess:
    """The one rule for a room in hand (entities or plain rows): its space as
    ``access_space_loaded`` lets it through, in the page's space if one is named, and
    the actor taking part in its chat."""
    if space_id is not None and space.id != space_id:
        raise NotFound()  # a room of another space (a page's URL): as a missing one
    access = access_space_loaded(account, space, membership)
    _require_chat(access)
    return access


_ROOM = ChatRoom.__table__.c
_PLAIN_ROOM_SPACE_MEMBERSHIP = (
    sa.select(*RoomRow.columns, *SpaceRow.columns, *MembershipRow.columns)
    .select_from(ChatRoom.__table__)
    .join(Space.__table__, Space.__table__.c.id == _ROOM.space_id)
    .outerjoin(
        Membership.__table__,
        sa.and_(
            Membership.__table__.c.space_id == _ROOM.space_id,
            Membership.__table__.c.account_id == sa.bindparam("account_id"),
        ),
    )
    .where(_ROOM.id == sa.bindparam("room_id"))
)
_ROOM_END = len(RoomRow.columns)
_SPACE_END = _ROOM_END + len(SpaceRow.columns)
_MEMBERSHIP_END = _SPACE_END + len(MembershipRow.columns)


def _room_plain(
    account: Account | AccountRow, room_id: object, client_id: str | None = None
) -> tuple[RoomRow, SpaceAccess, int | None, list | None]:
    """:func:`access_room` for a signed-in actor on a socket (every event on a room) and
    for every send: the room, its space and the actor's membership (None: not a member)
    in one statement built once, read as plain rows (``forum/models.py``: loading them as
    ORM entities was a sixth of a send), then :func:`_room_access`, the same rule as for
    entities. With ``client_id`` (a send), the same statement (:func:`_send_statement`)
    also says which message this actor already stored in the room under that id (the
    retry lookup, a statement of its own before) and reads the space's watched words
    (the screening's, a statement of its own before); both are used only once access
    passed. Without, those two are None."""
    params = {"room_id": row_id(room_id), "account_id": account.id}
    if client_id is None:
        found = statements.run(_PLAIN_ROOM_SPACE_MEMBERSHIP, params).one_or_none()
    else:
        params["client_id"] = client_id
        found = statements.run(_send_statement(), params).one_or_none()
    if found is None:
        raise NotFound()
    room = RoomRow(*found[:_ROOM_END])
    space = SpaceRow(*found[_ROOM_END:_SPACE_END])
    columns = found[_SPACE_END:_MEMBERSHIP_END]
    # The membership's id is its primary key: NULL only where the outer join found none.
    membership = None if columns[0] is None else MembershipRow(*columns, account=account)
    access = _room_access(account, space, membership)
    if client_id is None:
        return room, access, None, None
    stored, words = found[_MEMBERSHIP_END:]
    return room, access, stored, words or []  # PostgreSQL's json_agg of no rows: NULL


def _require_chat(access: SpaceAccess) -> None:
    if not access.takes_part:
        raise Forbidden(_("Join this space to take part in its chat."))


def _writable(room: ChatRoom | RoomRow, access: SpaceAccess) -> Membership | MembershipRow:
    if room.archived_at is not None:
        raise Forbidden(_("This room is archived: you can read it, but not write in it."))
    return access.require_write()


# --- rooms ----------------------------------------------------------------------


def list_rooms(account: Account | None, slug: object, page: object = 1) -> tuple[SpaceAccess, Page]:
    """One page of the space's rooms (owners also see archived ones). A space always has one."""
    access = access_space(account, slug)
    _require_chat(access)
    query = sa.select(ChatRoom).where(ChatRoom.space_id == access.space.id)
    if not access.has_role("owner"):
        query = query.where(ChatRoom.archived_at.is_(None))
    rooms = paginate(query.order_by(ChatRoom.id), page, ROOMS_PER_PAGE)
    if not rooms.items and rooms.page == 1 and not _has_any_room(access.space.id):
        rooms.items = [ensure_default_room(access.space.id)]
    return access, rooms


def _has_any_room(space_id: int) -> bool:
    return (
        db.session.scalar(sa.select(ChatRoom.id).where(ChatRoom.space_id == space_id).limit(1))
        is not None
    )


def open_rooms(space_id: int) -> list[ChatRoom]:
    """The space's rooms that are not archived, by name: the space page lists them.

    No access check: the page that asks has checked the space (``realtime.init_app``
    makes this the ``chat_rooms`` template global).
    """
    query = (
        sa.select(ChatRoom)
        .where(ChatRoom.space_id == space_id, ChatRoom.archived_at.is_(None))
        .order_by(ChatRoom.name, ChatRoom.id)
    )
    return paginate(query, 1, MAX_ROOMS).items


def ensure_default_room(space_id: int) -> ChatRoom:
    """Give a space its first room ("General") if it has none.

    Runs for every new space (``signals.space_created``) and when a space's rooms
    are first listed.
    """
    room = db.session.scalar(
        sa.select(ChatRoom).where(ChatRoom.space_id == space_id).order_by(ChatRoom.id)
    )
    if room is None:
        room = ChatRoom(space_id=space_id, name="General", created_at=clock.now(), last_seq=0)
        db.session.add(room)
        db.session.commit()
    return room


def create_room(account: Account | None, slug: object, name: object) -> ChatRoom:
    """Add a room to a space (owners only)."""
    access = access_space(account, slug)
    access.require_role("owner")
    name = clean_room_name(name)
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(ChatRoom).where(ChatRoom.space_id == access.space.id)
    )
    if count >= MAX_ROOMS:
        raise Invalid(
            _(
                "A space can have at most %(max_rooms)s rooms. Archive one or rename it instead.",
                max_rooms=MAX_ROOMS,
            )
        )
    room = ChatRoom(space_id=access.space.id, name=name, created_at=clock.now(), last_seq=0)
    db.session.add(room)
    db.session.commit()
    return room


def rename_room(account: Account | None, slug: object, room_id: object, name: object) -> ChatRoom:
    room, access = access_room(account, room_id, slug)
    access.require_role("owner")
    room.name = clean_room_name(name)
    db.session.commit()
    signals.chat_room_changed.send(room)
    return room


def archive_room(
    account: Account | None, slug: object, room_id: object, archived: bool = True
) -> ChatRoom:
    """Make a room read-only and drop it from the list (or bring it back)."""
    room, access = access_room(account, room_id, slug)
    access.require_role("owner")
    room.archived_at = clock.now() if archived else None
    db.session.commit()
    signals.chat_room_changed.send(room)
    return room


# --- messages -------------------------------------------------------------------


def _visible(shown: bool = False) -> sa.Select:
    """Every read path: the room's messages that ``forum.access.visible`` lets through (not
    hidden by a moderator, for moderators neither; not expired; not written by someone
    the viewer blocked). Parameters ``:room_id``, ``:account_id`` (the viewer) and ``:now``
    (:func:`_visible_params`). ``shown``: the columns of :class:`Shown`, not the entity."""
    viewer, now = sa.bindparam("account_id"), sa.bindparam("now", type_=UTCDateTime())
    where = (ChatMessage.room_id == sa.bindparam("room_id"), visible(viewer, ChatMessage, now=now))
    if shown:
        return sa.select(*_SHOWN_COLUMNS).where(*where)
    # Readers get the stored HTML: the Markdown source is neither opened nor sent.
    return sa.select(ChatMessage).where(*where).options(so.defer(ChatMessage.body))


@dataclass(slots=True)
class Shown:
    """A message as a page of history shows it, read as plain columns: a room page of 50
    spent about a third of its loading in the ORM's entity per row (identity map,
    attribute state), which a read-only page never uses. The same attributes as
    :class:`ChatMessage` for ``message_dict`` and the room template, and its ``html``."""

    id: int
    room_id: int
    seq: int
    author_id: int | None
    author_name: str
    created_at: datetime
    expires_at: datetime
    body_html: str | None
    body: str | None  # read (and opened) only for a row stored without its HTML

    html = ChatMessage.html  # the one rule: the stored HTML, else the text rendered


# Shown's fields, in order, as ChatMessage's columns; ``body`` (the last) only where no
# HTML was stored.
_SHOWN_COLUMNS = (
    *(getattr(ChatMessage, f.name) for f in fields(Shown) if f.name != "body"),
    sa.case((ChatMessage.body_html.is_(None), ChatMessage.body)).label("body"),
)


def _visible_params(room_id: int, viewer: Account | None) -> dict[str, Any]:
    return {"room_id": room_id, "account_id": viewer.id if viewer else None, "now": clock.now()}


def _latest_statement(before: bool) -> sa.Select:
    """A page of history, newest first (``:before``: below that seq): built once per app
    (the block rule is the app's) and kind."""

    def build() -> sa.Select:
        query = _visible(shown=True)
        if before:
            query = query.where(ChatMessage.seq < sa.bindparam("before", type_=sa.Integer))
        return paged(query.order_by(ChatMessage.seq.desc()))

    return prebuilt(f"chat history, before={before}", build)


def _after_statement() -> sa.Select:
    """Every message after ``:after``, oldest first (resume): built once per app."""

    def build() -> sa.Select:
        after = sa.bindparam("after", type_=sa.Integer)
        return paged(_visible().where(ChatMessage.seq > after).order_by(ChatMessage.seq))

    return prebuilt("chat after", build)


# The retry lookup, nearly always empty: built once, on the table (no ORM entity to load
# for the usual answer, none), the row loaded only when there is one. A send asks it as a
# column of its access statement; a send that lost a race asks it again on its own.
def _stored(author: str) -> sa.Select:
    return sa.select(ChatMessage.__table__.c.id).where(
        ChatMessage.__table__.c.room_id == sa.bindparam("room_id"),
        ChatMessage.__table__.c.author_id == sa.bindparam(author),
        ChatMessage.__table__.c.client_id == sa.bindparam("client_id"),
    )


_STORED = _stored("author_id")


def _send_statement() -> sa.Select:
    """:func:`_room_plain`'s statement for a send, built once per app (the watched words'
    SQL differs by database): the access statement, then the retry lookup and the
    space's watched words (``watchwords.words_of_space``) as two more columns."""

    def build() -> sa.Select:
        dialect = db.session.get_bind().dialect.name
        return _PLAIN_ROOM_SPACE_MEMBERSHIP.add_columns(
            _stored("account_id").scalar_subquery(),
            watchwords.words_of_space(_ROOM.space_id, dialect),
        )

    return prebuilt("chat send", build)


def _find(room_id: int, author_id: int, client_id: str) -> ChatMessage | None:
    """The message this author already stored in this room under ``client_id``, if any."""
    found = db.session.scalar(
        _STORED, {"room_id": room_id, "author_id": author_id, "client_id": client_id}
    )
    return None if found is None else db.session.get(ChatMessage, found)


def is_confirmed(value: object) -> bool:
    """Only a real ``true`` (JSON) or the form's checkbox confirms; "yes", 1 or [true] do not."""
    return value is True


def post_message(
    account: Account | AccountRow | None,
    room_id: object,
    client_id: object,
    body: object,
    confirmed: object = False,
) -> tuple[ChatMessage, bool]:
    """Store a message; return it and whether it is new.

    A retry with the same ``client_id`` returns the stored message (``False``):
    stored once, announced once. Screening runs before anything is stored, the
    same path posts take (``moderation/screening.py``): the space's watched words
    (block: Invalid; hold: stored hidden with a system flag, not announced; flag:
    stored with a system flag), links only from trust level 1 up, and the privacy
    guard (``NeedsConfirmation`` until ``confirmed is True``). A held message
    comes back with ``hidden_at`` set: tell the author.
    Raises NotFound, Forbidden, Invalid, NeedsConfirmation, RateLimited.
    """
    if account is None:
        room, access = access_room(account, room_id)  # refuses: chat needs a member
        stored_id = words = None
    else:
        # The retry lookup rides on the access statement; a client id that is not valid
        # asks for none (and is refused below, once access has been checked).
        valid = isinstance(client_id, str) and CLIENT_ID.fullmatch(client_id) is not None
        room, access, stored_id, words = _room_plain(account, room_id, client_id if valid else None)
    membership = _writable(room, access)
    client_id = clean_client_id(client_id)
    body = clean_body(body)
    existing = None if stored_id is None else db.session.get(ChatMessage, stored_id)
    if existing is not None:
        _announce_again(existing, membership)
        return existing, False
    now = clock.now()
    # Counted before the content checks, so they cannot be probed for free.
    # The rate of the name shown here (its row is in hand: no query), counted per name.
    ratelimit.hit(trust.chat_rate(account, membership, now), "chat", membership.persona)
    # One parse of the Markdown: the links screening looks for, and the HTML stored.
    html, links = markdown.render_inline_with_links(body)
    verdict = screening.check(
        account,
        room.space_id,
        [body],
        confirmed=is_confirmed(confirmed),
        inline=True,
        links=links,
        words=words,
        membership=membership,
    )
    # Who blocked this name: their sockets never hear it (push.on_message_created). Read
    # here, before the write begins (no lock held for it), in the transaction the send
    # already has: after the commit it took a connection and a transaction of its own.
    blocking = (
        []
        if verdict.action == "hold"
        else sockets.sids_blocking(Written(account.id, membership.display_name, room.space_id))
    )
    # No fsync on the hub per message (SQLite): an acked message survives a killed
    # process, not necessarily a power loss (forum/disk.py, docs/REALTIME.md).
    disk.no_fsync_on_sqlite(db.session)
    seq = statements.run(_NEXT_SEQ, {"id": room.id}).scalar_one()
    row = {
        "room_id": room.id,
        "space_id": room.space_id,
        "seq": seq,
        "author_id": account.id,
        "author_name": membership.display_name,
        "client_id": client_id,
        "created_at": now,
        "expires_at": retention.chat_expires_at(access.space, now),
        "hidden_at": None,  # known: screening may hold it (below); no reload to find out
    }
    standing.count_post(membership)  # trust counts it, in this transaction
    try:
        message = _insert(row, body, str(html))
        if verdict.action == "allow":
            # The send read plain rows, which no commit expires; of entities a caller may
            # hold in this session, only the name's counter (expired by count_post, or by
            # its flush) and the room's last_seq (set here) changed: the commit need not
            # expire the rest.
            statements.commit_keeping_loaded()
            room_entity = statements.loaded(ChatRoom, room.id)  # a caller's, if any
            if room_entity is not None:
                so.attributes.set_committed_value(room_entity, "last_seq", seq)
            db.session.add(message)  # persistent as if loaded now: no expiry, no query
        else:
            # Held or flagged: the flag row (and a hold's hidden_at) in this transaction.
            db.session.add(message)
            screening.apply(verdict, "chat", message, access.space.name)
            _commit_keeping(message)
    except IntegrityError:
        # The same retry raced us (two tabs, a resend crossing a slow ack): theirs won.
        db.session.rollback()
        existing = _find(room.id, account.id, client_id)
        if existing is None:
            raise
        _announce_again(existing, membership)
        return existing, False
    if message.hidden_at is None:
        # Built once: the room's broadcast and the author's ack carry the same payload.
        message.__dict__[_PAYLOAD] = message_dict(message)
        signals.chat_message_created.send(message, blocking=blocking)
    return message, True


_NEXT_SEQ = sa.text(
    "UPDATE chat_rooms SET last_seq = last_seq + 1 WHERE id = :id RETURNING last_seq"
)
_INSERT = sa.insert(ChatMessage.__table__).returning(ChatMessage.__table__.c.id)


def _insert(row: dict[str, Any], body: str, html: str) -> ChatMessage:
    """Store a new message with one prebuilt INSERT, and hand back the row as a query
    would have loaded it (detached until the caller adds it to the session: after the
    commit, which then has nothing of it to expire and reload).

    The ORM's unit of work (an object made pending, the flush's sorting and bookkeeping,
    the sealing hook over the session's new objects) cost more than the INSERT itself.
    The texts are sealed as the flush hook seals them: wrapped for the row's epoch key,
    the column type encrypts them (``forum/sealed.py``); the HTML is the render the
    screening's link check parsed (the model's ``body`` listener renders on an ORM write).
    Every column is loaded: the ack and the broadcast read its values without a query.
    Screening that holds or flags it adds it to the session before the commit (an
    UPDATE of ``hidden_at`` and a flag row).
    """
    kid = sealed.key_id_of(ChatMessage, **row)
    values = {**row, "body": SealedStr(body, kid), "body_html": SealedStr(html, kid)}
    values["id"] = statements.run(_INSERT, values).scalar_one()
    message = ChatMessage.__mapper__.class_manager.new_instance()
    for key, value in values.items():
        so.attributes.set_committed_value(message, key, value)
    so.make_transient_to_detached(message)
    return message


def _commit_keeping(message: ChatMessage) -> None:
    """Commit, and keep the message's values as written instead of expiring them: the ack
    and the broadcast read them right after, and a reload would cost a query and the
    decryption of its sealed body and HTML for values already in hand. Columns the
    database fills itself stay expired (read when asked for); everything else in the
    session expires at the commit as usual."""
    state = sa.inspect(message)
    written = {
        key: value
        for key, value in state.dict.items()
        if key in state.mapper.column_attrs and not isinstance(value, sa.ClauseElement)
    }
    db.session.commit()
    for key, value in written.items():
        so.attributes.set_committed_value(message, key, value)


def _announce_again(message: ChatMessage, membership: Membership | MembershipRow) -> None:
    """A retry found its message already stored: announce it to the room again.

    The process that stored it may have died between the commit and the broadcast, and
    then nobody but the author would ever hear of it. Clients drop repeats by seq. Held,
    hidden and expired messages are not announced; past REANNOUNCE_RATE the retry is
    acked without a broadcast (gap filling still finds the message).
    """
    if not shows(None, message):
        return
    try:
        ratelimit.hit(REANNOUNCE_RATE, "chat-again", membership.persona)
    except RateLimited:
        return
    signals.chat_message_created.send(message)


def latest(
    account: Account | AccountRow | None,
    room_id: object,
    before: object = None,
    slug: object = None,
) -> tuple[ChatRoom, SpaceAccess, Page]:
    """One page of history, oldest first: the newest messages, or those before ``before``,
    as :class:`Shown` rows (read-only: not entities of the session). Read on the session's
    connection (``plain``), not through the ORM's execution path: its compile state and
    row loading were about a quarter of the page's loading (py-spy), for columns only.

    ``has_next`` says that older messages exist (the "Older messages" link).
    """
    room, space_access = access_room(account, room_id, slug)
    params = _visible_params(room.id, account)
    if before is not None:
        params["before"] = clean_seq(before)
    rows = paginate(_latest_statement(before is not None), 1, PAGE, plain=True, params=params)
    page = Page([Shown(*row) for row in reversed(rows.items)], rows.page, rows.has_next)
    return room, space_access, page


def messages_after(
    account: Account | AccountRow | None, room_id: object, after_seq: object
) -> tuple[ChatRoom, Page, int]:
    """Every live message after ``after_seq``, in order, at most RESUME_MAX at once, and
    ``through``: the highest seq this answer covers.

    Every message the reader may see with a seq in ``(after_seq, through]`` is in the
    answer; a seq in that range that is not is gone for this reader (hidden, expired,
    deleted, or by someone they blocked), so a client stops waiting for it.
    ``last_seq`` is read before the messages: on PostgreSQL each statement sees the
    commits before it, and commits come in seq order (see the top of this module), so
    every seq up to the ``last_seq`` read is settled when the messages are read. When
    it is not past ``after_seq``, no message is, and the messages are not queried.
    """
    room, _access = access_room(account, room_id)
    page, through = _missed(room, account, clean_seq(after_seq, default=0))
    return room, page, through


def _missed(
    room: ChatRoom | RoomRow,
    reader: Account | AccountRow | None,
    after: int,
    last_seq: int | None = None,
) -> tuple[Page, int]:
    """:func:`messages_after` for a room the reader may use; ``last_seq``: the room's, when
    the caller read it already (a join: with its room row, :func:`sockets.enter`)."""
    if last_seq is None:
        last_seq = statements.run(_LAST_SEQ, {"room_id": room.id}).scalar() or 0
    if last_seq <= after:
        # Nothing was stored after it (the usual resume: a page joins with the seq it
        # shows): no query for the messages. One committed after this read reaches the
        # socket live (it is in the Socket.IO room already).
        return Page([], 1, False), after
    params = {**_visible_params(room.id, reader), "after": after}
    page = paginate(_after_statement(), 1, RESUME_MAX, params=params)
    if page.has_next:
        through = page.items[-1].seq
    else:
        through = max([last_seq, after, *(m.seq for m in page.items[-1:])])
    return page, through


_LAST_SEQ = sa.select(ChatRoom.last_seq).where(ChatRoom.id == sa.bindparam("room_id"))


_PAYLOAD = "_rb_payload"


def payload_of(message: ChatMessage, *, last: bool = False) -> dict[str, Any]:
    """:func:`message_dict`, made once for a message just sent: ``post_message`` keeps the
    payload it announces on the new message, the broadcast sends it and the author's ack
    (``last``: the final use, which drops it) carries it. Any other message: made now."""
    made = message.__dict__.pop(_PAYLOAD, None) if last else message.__dict__.get(_PAYLOAD)
    return made if made is not None else message_dict(message)


def message_dict(message: ChatMessage) -> dict[str, Any]:
    """A message as clients get it: sanitised HTML, the name it was written under.

    No author id: it would tie a member's space alias to their other spaces.
    """
    return {
        "id": message.id,
        "room_id": message.room_id,
        "seq": message.seq,
        "author": message.author_name,
        "html": str(message.html),
        "created_at": _iso(message.created_at),
        "expires_at": _iso(message.expires_at),
    }


def message_dict_for(message: ChatMessage, viewer: Account) -> dict[str, Any]:
    """``message_dict`` for one reader (history, a join's answer, their own ack): an erased
    author's placeholder in the reader's words, and ``mine`` (no menu on their own)."""
    return {
        **message_dict(message),
        "author": i18n.shown_name(message.author_name),
        "mine": message.author_id == viewer.id,
    }


def findings_payload(findings: list[guard.Finding]) -> list[dict[str, str]]:
    """What the privacy guard found, for the author's warning (at most MAX_FINDINGS)."""
    return [{"kind": f.kind, "text": f.text[:80]} for f in findings[:MAX_FINDINGS]]


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def blocked_in_open_rooms(
    blocker_id: int, blocked_id: int, name: str, space_id: int | None, limit: int = 2000
) -> dict[int, list[tuple[int, int]]]:
    """Just after a block: the messages under the newly blocked name (``name``, in
    ``space_id`` or everywhere when None) in the rooms the blocker has open.

    Only that name's: messages hidden by an earlier block of another name are not sent
    again (a second "removed" for them would tell the blocker the two names are one).

    ``{room_id: [(id, seq), ...]}``, newest first, at most ``limit`` in all (a page
    shows far fewer; older ones are filtered when the page loads them).
    """
    open_rooms = (
        sa.select(ChatSocketRoom.room_id)
        .join(ChatSocket, ChatSocket.sid == ChatSocketRoom.sid)
        .where(ChatSocket.account_id == blocker_id)
    )
    rows = db.session.execute(
        sa.select(ChatMessage.room_id, ChatMessage.id, ChatMessage.seq)
        .where(
            ChatMessage.author_id == blocked_id,
            ChatMessage.author_name == name,
            sa.true() if space_id is None else ChatMessage.space_id == space_id,
            blocked(blocker_id, ChatMessage),
            ChatMessage.room_id.in_(open_rooms),
            live(ChatMessage.expires_at),
        )
        .order_by(ChatMessage.id.desc())
        .limit(limit)
    )
    found: dict[int, list[tuple[int, int]]] = {}
    for room_id, message_id, seq in rows:
        found.setdefault(room_id, []).append((message_id, seq))
    return found


# --- account deletion -------------------------------------------------------------


def forget_author(account_id: int, keep_content: bool = False, **_: object) -> None:
    """``account_deleting`` (inside the deletion's transaction): delete their chat
    messages, or keep them under "[deleted]" with no link to the account.

    Deleted messages must leave open rooms after the commit, not at chat expiry: their
    ``(room, ids, seqs)`` wait in the session for ``push.on_account_deleted``
    (:func:`removed_with_account`).
    """
    mine = ChatMessage.author_id == account_id
    if keep_content:
        db.session.execute(
            sa.update(ChatMessage)
            .where(mine)
            .values(author_id=None, author_name=DELETED_NAME, client_id=None)
        )
        return
    by_room: dict[int, tuple[list[int], list[int]]] = {}
    for room_id, message_id, seq in db.session.execute(
        sa.select(ChatMessage.room_id, ChatMessage.id, ChatMessage.seq)
        .where(mine)
        .order_by(ChatMessage.id)
    ):
        ids, seqs = by_room.setdefault(room_id, ([], []))
        ids.append(message_id)
        seqs.append(seq)
    db.session.execute(sa.delete(ChatMessage).where(mine))
    db.session.info.setdefault(_REMOVED_WITH_ACCOUNT, {})[account_id] = by_room


_REMOVED_WITH_ACCOUNT = "rb.chat_removed_with_account"


def removed_with_account(account_id: int) -> dict[int, tuple[list[int], list[int]]]:
    """After the commit: the rooms, ids and seqs :func:`forget_author` deleted (once)."""
    return db.session.info.get(_REMOVED_WITH_ACCOUNT, {}).pop(account_id, {})


# --- presence and typing -------------------------------------------------------


@dataclass
class Entered:
    """What a socket entering a room is told: what it missed and who is here."""

    room: ChatRoom
    page: Page
    through: int
    presence: dict[str, Any]


def enter_room(
    account: Account | AccountRow | None,
    sid: str,
    room_id: object,
    after_seq: object,
    entering: Callable[[int], object] = lambda _room_id: None,
) -> Entered:
    """A socket comes into a room: check access, call ``entering(room id)``, then record
    it and answer with what it missed (:func:`messages_after`) and who is here.

    ``entering`` is where the namespace puts the socket in the Socket.IO room: before the
    history is read (Zulip's order), so a message committed in between is in one or the
    other (the client drops repeats by seq). The access check runs once, here.
    """
    room, access = access_room(account, room_id)
    after = clean_seq(after_seq, default=0)
    entering(room.id)
    # The socket's room row and the room's last_seq in one statement, then what it
    # missed, then one commit (the row becomes visible with it).
    last_seq = sockets.enter(sid, room.id)
    new = last_seq is not None
    page, through = _missed(room, account, after, last_seq)
    statements.commit_keeping_loaded()
    here, fresh = _presence_at_join(room, access.space)
    if new:
        # The room hears of it (coalesced, push.py); the joiner is spared that update
        # only when its ack already shows presence read after its own entry.
        signals.chat_presence_changed.send(room.id, joined_sid=sid if fresh else None)
    return Entered(room, page, through, here)


def leave_room(account: Account | AccountRow | None, sid: str, room_id: object) -> None:
    room, _access = access_room(account, room_id)
    if sockets.leave(sid, room.id):
        signals.chat_presence_changed.send(room.id)


def presence(room_id: int) -> dict[str, Any]:
    """Who is here, read now: always the count; names only where the space shows them."""
    room = db.session.get(ChatRoom, room_id)
    if room is None:
        return _presence_payload(room_id, None, (0, []))
    return _presence_payload(room_id, room.space, _read_online(room_id, room.space_id))


# A join's ack in a crowded room reuses presence read at most RB_PRESENCE_MS ago in this
# process (app.extensions[_RECENT_ONLINE]: room id -> (monotonic time, (count, names))).
# Reading it costs a query over everyone in the room, so filling a room of N read it N
# times: O(N^2), a fifth of a join's server CPU at N=500 (py-spy). The room's update,
# coalesced to one per RB_PRESENCE_MS (push.py), then tells everyone, those joiners
# included, the fresh count. Below CROWDED present, each join reads it (cheap there, and
# a small room's count is exact at once). Only the count and names are reused (what the
# database said, at most that old); whether names show is the space's setting at each
# join. RB_PRESENCE_MS 0: always read.
CROWDED = 50
_RECENT_ONLINE = "rb.recent_online"
_RECENT_ONLINE_MAX = 10_000  # rooms remembered before old entries are dropped


def _presence_at_join(
    room: ChatRoom | RoomRow, space: Space | SpaceRow
) -> tuple[dict[str, Any], bool]:
    """Presence for a joiner's ack, and whether it was read after the join (fresh)."""
    within = current_app.config["RB_PRESENCE_MS"] / 1000
    recent = current_app.extensions.setdefault(_RECENT_ONLINE, {}).get(room.id)
    if recent is not None and recent[1][0] >= CROWDED and time.monotonic() - recent[0] < within:
        return _presence_payload(room.id, space, recent[1]), False
    return _presence_payload(room.id, space, _read_online(room.id, room.space_id)), True


def _read_online(room_id: int, space_id: int) -> tuple[int, list[str]]:
    online = sockets.online(room_id, space_id)
    recent = current_app.extensions.setdefault(_RECENT_ONLINE, {})
    if len(recent) >= _RECENT_ONLINE_MAX:
        recent.clear()  # entries older than RB_PRESENCE_MS are worthless anyway
    recent[room_id] = (time.monotonic(), online)
    return online


def _presence_payload(
    room_id: int, space: Space | SpaceRow | None, online: tuple[int, list[str]]
) -> dict[str, Any]:
    """``space``: the room's (None: no such room, so no names)."""
    count, names = online
    payload: dict[str, Any] = {"room_id": room_id, "count": count}
    if space is not None and space.show_online_list:
        payload["names"] = names
    return payload


def typing(account: Account | AccountRow | None, sid: str, room_id: object) -> None:
    """Tell the room someone is typing (spaces that turned it on; rate-limited, not stored)."""
    room, access = access_room(account, room_id)
    if not access.space.typing_indicator:
        raise Forbidden(_("Typing indicators are off in this space."))
    membership = _writable(room, access)
    ratelimit.hit(TYPING_RATE, "typing", membership.persona)
    # People who blocked them are not told.
    skip = [
        sid,
        *sockets.sids_blocking(Written(account.id, membership.display_name, room.space_id)),
    ]
    signals.chat_typing.send(room.id, name=membership.display_name, skip_sid=skip)
