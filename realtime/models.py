"""Chat tables: rooms in spaces, and their messages with a per-room sequence."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so
from markupsafe import Markup

from forum import markdown
from forum.dbtypes import UTCDateTime
from forum.extensions import db
from forum.models import Authored
from forum.models import plain_row
from forum.sealed import HOUR
from forum.sealed import Epoch
from forum.sealed import SealedText


class ChatRoom(db.Model):
    """A live room in a space. ``last_seq`` hands out the next message number."""

    __tablename__ = "chat_rooms"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    space_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("spaces.id", ondelete="CASCADE"), index=True
    )
    name: so.Mapped[str] = so.mapped_column(sa.String(60))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    archived_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # Allocated with UPDATE ... RETURNING inside the storing transaction: the row
    # lock orders commits by number, so "everything after N" never skips one.
    last_seq: so.Mapped[int] = so.mapped_column(default=0)

    space: so.Mapped["Space"] = so.relationship("Space")  # noqa: F821


# A room as every socket event and send reads it: plain columns (forum/models.py).
RoomRow = plain_row(ChatRoom)


class ChatMessage(Authored, db.Model):
    """One chat message. ``seq`` is monotonic per room; ``client_id`` makes retries idempotent.

    ``body`` and its HTML are sealed under the key of its space's hour of expiry
    (forum/sealed.py).
    """

    __tablename__ = "chat_messages"
    __sealed__ = Epoch(scope="space_id", expires="expires_at", length=HOUR)
    __table_args__ = (
        sa.UniqueConstraint("room_id", "seq"),
        sa.UniqueConstraint("room_id", "author_id", "client_id"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    room_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("chat_rooms.id", ondelete="CASCADE"))
    seq: so.Mapped[int] = so.mapped_column()
    client_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    body: so.Mapped[str] = so.mapped_column(SealedText())
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)
    # ``body`` rendered (``markdown.render_inline``), written with every change of ``body``
    # (a new message: ``chat.post_message``'s INSERT, from the parse its screening used;
    # an ORM write such as a moderator's redaction: the listener below), so a room page renders
    # nothing. User text like ``body``: sealed under the same key, in the same row, so it
    # is shredded, expires and is deleted with it. NULL only for rows a Core insert wrote
    # without it; those are rendered when shown.
    body_html: so.Mapped[str | None] = so.mapped_column(SealedText())

    room: so.Mapped[ChatRoom] = so.relationship()

    @property
    def html(self) -> Markup:
        """The message as safe inline HTML, as stored when it was written or redacted."""
        if self.body_html is None:
            return markdown.render_inline(self.body)
        # B704 and the markup rule waived: the renderer's own output, written only by the
        # listener below (raw HTML off; tests/test_markdown.py, tests/test_page_cost.py).
        return Markup(self.body_html)  # nosec B704  # nosemgrep: semgrep.markup-on-user-text


@sa.event.listens_for(ChatMessage.body, "set")
def _render_body(target: ChatMessage, value: object, _old: object, _initiator: object) -> None:
    """Every write of a message's text (new, redaction) renders it once. The same text
    again (``sealed.reseal`` moving it to another epoch's key) keeps its HTML, which the
    reseal moves too."""
    if isinstance(_old, str) and value == _old and target.body_html is not None:
        return
    target.body_html = str(markdown.render_inline(value)) if isinstance(value, str) else None


class ChatSocket(db.Model):
    """A live Socket.IO connection, in the database so every process sees it.

    Logout, removal from a space and presence all ask "which sockets belong to
    whom": a process-local dict would only know this process's sockets.
    """

    __tablename__ = "chat_sockets"

    sid: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    # No foreign keys on purpose: logout and account deletion delete those rows first
    # and signal afterwards; the receivers must still find the sockets to cut them.
    # The rows go at disconnect, or with purge_stale.
    account_id: so.Mapped[int] = so.mapped_column(index=True)
    auth_session_id: so.Mapped[int] = so.mapped_column(index=True)
    # No connect time is kept. Touched by every event and the client's heartbeat;
    # older than STALE means gone. The row itself goes at disconnect and at start-up.
    seen_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), index=True)


class ChatSocketRoom(db.Model):
    """A live socket is in a chat room (for presence and for evicting it)."""

    __tablename__ = "chat_socket_rooms"

    sid: so.Mapped[str] = so.mapped_column(
        sa.ForeignKey("chat_sockets.sid", ondelete="CASCADE"), primary_key=True
    )
    room_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("chat_rooms.id", ondelete="CASCADE"), primary_key=True, index=True
    )
