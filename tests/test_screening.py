"""One screening path: thread titles, bodies, content warnings, replies, edits and chat
messages are refused (or held, or flagged) by the same rules, with the same words.

Through the services, as every adapter calls them; each surface is tried with the
same hostile text and must refuse it identically and store nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from forum import screening as forum_screening
from forum import threads
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.errors import NeedsConfirmation
from forum.extensions import db
from forum.models import Account
from forum.models import Post
from forum.models import Thread
from moderation import notices
from moderation import watchwords
from moderation.models import Flag
from realtime import chat
from realtime.models import ChatMessage
from tests.factories import add_member
from tests.factories import make_room
from tests.factories import make_space
from tests.support import with_text

_ids = itertools.count(1)


@pytest.fixture
def place(app, make_account):
    """An open space with watched words, a room, a new writer with one thread, and its owner."""
    owner, writer = make_account("Kestrel"), make_account("Wren")
    space = make_space(owner=owner, slug="place")
    add_member(space, writer)
    for pattern, action in (("badword", "block"), ("holdme", "hold"), ("iffy", "flag")):
        watchwords.add_word(owner, "place", pattern, action)
    room = make_room(space)
    thread = threads.create_thread(writer, "place", title="Mine", body="my first words")
    reply = threads.reply(writer, thread.id, body="my reply")
    first = db.session.scalar(
        sa.select(Post).where(Post.thread_id == thread.id, Post.is_first.is_(True))
    )
    return {
        "space": space,
        "writer": writer,
        "room": room,
        "thread": thread,
        "first": first,
        "reply": reply,
    }


def surfaces(place: dict) -> dict[str, Callable[[str], object]]:
    """Every way a member's words get stored, each taking the text to screen."""
    writer, thread = place["writer"], place["thread"]

    def chat_message(text: str) -> object:
        return chat.post_message(writer, place["room"].id, f"client-{next(_ids):06}", text)[0]

    return {
        "thread title": lambda text: threads.create_thread(
            writer, "place", title=text, body="fine"
        ),
        "thread body": lambda text: threads.create_thread(writer, "place", title="fine", body=text),
        "content warning": lambda text: threads.create_thread(
            writer, "place", title="fine", body="fine", content_warning=text
        ),
        "reply": lambda text: threads.reply(writer, thread.id, body=text),
        "edited reply": lambda text: threads.edit_post(writer, place["reply"].id, body=text),
        "edited title": lambda text: threads.edit_post(
            writer, place["first"].id, body="fine", title=text
        ),
        "chat": chat_message,
    }


def stored() -> tuple[int, int, int, list[str]]:
    count = sa.func.count()
    return (
        db.session.scalar(sa.select(count).select_from(Thread)),
        db.session.scalar(sa.select(count).select_from(Post)),
        db.session.scalar(sa.select(count).select_from(ChatMessage)),
        sorted(db.session.scalars(sa.select(Post.body)))
        + sorted(db.session.scalars(sa.select(Thread.title))),
    )


@pytest.mark.parametrize(
    ("text", "error", "says"),
    [
        ("you BADWORD", Invalid, ['"badword"', "doesn't allow", "moderators"]),
        (
            "see https://evil.example/x",
            Forbidden,
            ["New accounts can't post links yet", "3 days old", "5 posts"],
        ),
        ("call 07700 900123", NeedsConfirmation, ["phone number"]),
    ],
)
def test_every_surface_refuses_alike_and_stores_nothing(place, text, error, says):
    before = stored()
    messages = {}
    for name, write in surfaces(place).items():
        with pytest.raises(error) as caught:
            write(text)
        db.session.rollback()
        messages[name] = caught.value.message
        assert all(part in caught.value.message for part in says), (name, caught.value.message)
        if isinstance(caught.value, NeedsConfirmation):
            assert caught.value.details == ["This looks like a phone number: 07700 900…"], name
    assert len(set(messages.values())) == 1, messages  # one rule, one wording
    assert stored() == before


def test_chat_finds_links_as_chat_shows_them(place):
    """An indented line is a code block to the forum renderer but a link in chat."""
    text = "hello\n\n    https://evil.example/x"
    with pytest.raises(Forbidden):
        chat.post_message(place["writer"], place["room"].id, "client-indented", text)
    db.session.rollback()
    assert threads.reply(place["writer"], place["thread"].id, body=text).hidden_at is None


@pytest.mark.parametrize(
    "surface", ["thread body", "reply", "edited reply", "edited title", "chat"]
)
def test_held_everywhere_the_same_way(place, surface):
    write = surfaces(place)[surface]
    item = write("please holdme")
    db.session.expire_all()
    kind = {"chat": "chat", "thread body": "thread", "edited title": "thread"}.get(surface, "post")
    held = place["thread"] if surface == "edited title" else item
    assert db.session.get(type(held), held.id).hidden_at is not None
    flag = db.session.scalar(
        sa.select(Flag).where(Flag.target_kind == kind, Flag.target_id == held.id)
    )
    assert flag.flagger_id is None and flag.weight == 0 and "holdme" in flag.note
    told = list(notices.words(notices.list_for(place["writer"])[0]).values())
    assert len(told) == 1 and "waiting for a moderator" in told[0]


@pytest.mark.parametrize("surface", ["thread body", "reply", "chat"])
def test_flag_word_queues_and_shows_everywhere(place, surface):
    item = surfaces(place)[surface]("a bit iffy")
    assert item.hidden_at is None
    notes = list(db.session.scalars(sa.select(Flag.note).where(Flag.target_id == item.id)))
    assert notes == ["iffy"]  # the word; the queue words its sentence (wording.FLAG_NOTES)


def test_members_links_pass_every_surface(place, clock):
    writer: Account = place["writer"]
    clock.advance(days=4)
    for n in range(5):
        chat.post_message(writer, place["room"].id, f"client-season-{n}", f"hello {n}")
    for name, write in surfaces(place).items():
        write("see https://example.org/" + name.replace(" ", "-"))


def test_an_app_without_screening_stores_nothing(app, place):
    """The forum cannot import moderation: if nothing registered screening, it fails closed."""
    registered = app.extensions.pop(forum_screening.EXTENSION)
    try:
        with pytest.raises(RuntimeError):
            threads.reply(place["writer"], place["thread"].id, body="unscreened")
    finally:
        app.extensions[forum_screening.EXTENSION] = registered
    db.session.rollback()
    assert with_text(Post, "body", "unscreened") == []
