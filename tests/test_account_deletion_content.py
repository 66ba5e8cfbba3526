"""Account deletion: "Delete it too" removes everything the person wrote, live from open
screens too; "Keep my posts" keeps the words with no name that links back to them.

Mona writes under her alias in an open space and as "Rosa" in a closed one: threads,
replies, chat in both. Xena has both rooms and the threads open on her socket.
"""

from __future__ import annotations

import contextvars

import pytest
import sqlalchemy as sa

from forum import threads
from forum.extensions import db
from forum.extensions import socketio
from forum.models import Post
from forum.models import Thread
from forum.sealed import SealedText
from realtime import chat
from realtime.models import ChatMessage
from realtime.models import ChatRoom
from tests.factories import add_member
from tests.factories import make_space
from tests.support import PASSPHRASE
from tests.support import login
from tests.support import post as post_form

NS = "/chat"


class Sock:
    def __init__(self, app, client) -> None:
        self.raw = contextvars.Context().run(
            socketio.test_client,
            app,
            namespace=NS,
            flask_test_client=client,
            headers={"Origin": "http://localhost"},
        )

    def ack(self, event: str, data: object) -> dict:
        return contextvars.Context().run(self.raw.emit, event, data, namespace=NS, callback=True)

    def received(self) -> dict[str, list]:
        """Everything heard since the last call, by event name."""
        found: dict[str, list] = {}
        for e in contextvars.Context().run(self.raw.get_received, NS):
            found.setdefault(e["name"], []).append(e["args"][0])
        return found


@pytest.fixture
def scene(app, make_account):
    olu, xena, mona = make_account("Olu"), make_account("Xena"), make_account("Mona")
    plaza = make_space("open", owner=olu, name="Plaza")
    circle = make_space("closed", owner=olu, name="Circle")
    for space in (plaza, circle):
        add_member(space, xena)
    add_member(plaza, mona)
    add_member(circle, mona, space_alias="Rosa")
    rooms = {
        s.id: db.session.scalar(sa.select(ChatRoom.id).where(ChatRoom.space_id == s.id))
        for s in (plaza, circle)
    }
    xena_plaza = threads.create_thread(xena, plaza.slug, title="Xena asks", body="Anyone around?")
    xena_circle = threads.create_thread(
        xena, circle.slug, title="Xena asks here", body="Anyone here?"
    )
    lonely = threads.create_thread(
        mona, plaza.slug, title="markerlonelytitle", body="markerlonelybody"
    )
    answered = threads.create_thread(
        mona, circle.slug, title="markeranswered title", body="markeransweredbody"
    )
    threads.reply(xena, answered.id, body="Xena answers kindly")
    replies = [
        threads.reply(mona, xena_plaza.id, body="markerreplyplaza"),
        threads.reply(mona, xena_circle.id, body="markerreplycircle"),
    ]
    messages = [
        chat.post_message(mona, rooms[plaza.id], "client-mona-1", "markerchatplaza")[0],
        chat.post_message(mona, rooms[circle.id], "client-mona-2", "markerchatcircle")[0],
        chat.post_message(xena, rooms[circle.id], "client-xena-1", "Xena chats")[0],
    ]
    xena_client = app.test_client()
    login(xena_client, "Xena")
    sock = Sock(app, xena_client)
    for room_id in rooms.values():
        assert sock.ack("join", {"room_id": room_id, "after_seq": 0})["ok"]
    for thread in (xena_plaza, xena_circle, lonely, answered):
        assert sock.ack("watch_thread", {"thread_id": thread.id})["ok"]
    mona_client = app.test_client()
    login(mona_client, "Mona")
    # Ids, not rows: the rows are gone after the deletion.
    return {
        "sock": sock,
        "xena": xena_client,
        "mona": mona_client,
        "rooms": rooms,
        "messages": [(m.room_id, m.id) for m in messages],
        "replies": [p.id for p in replies],
        "lonely": lonely.id,
        "answered": answered.id,
        "circle_room": rooms[circle.id],
    }


def _texts() -> str:
    """Every string column of every table, as one text (what a seized database holds,
    sealed columns opened with the vault's keys)."""
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (sa.String, SealedText))]
        if columns:
            for row in db.session.execute(sa.select(*columns)):
                found += [str(v) for v in row if v is not None]
    return "\n".join(found)


def test_delete_it_too_removes_posts_and_chat_live(scene):
    sock = scene["sock"]
    sock.received()
    response = post_form(
        scene["mona"], "/account/delete", {"passphrase": PASSPHRASE, "content": "delete"}
    )
    assert response.status_code == 303
    heard = sock.received()
    db.session.expire_all()  # the deletion ran in the request's session
    text = _texts()
    for marker in (
        "markerchatplaza",
        "markerchatcircle",
        "markerreplyplaza",
        "markerreplycircle",
        "markerlonely",
        "markeransweredbody",
        "Mona",
        "Rosa",
    ):
        assert marker not in text, marker
    assert (
        "Xena chats" in text and "Xena answers kindly" in text
    )  # others' words stay (positive control)
    # Open rooms drop Mona's messages now, in both spaces.
    removed = {(r["room_id"], i) for r in heard.get("removed", []) for i in r["ids"]}
    assert set(scene["messages"][:2]) <= removed
    assert scene["messages"][2] not in removed
    # Open thread pages drop her replies, lose the thread she started alone, and show the
    # erased first post of the thread others answered.
    removed_posts = {i for r in heard.get("posts_removed", []) for i in r["post_ids"]}
    assert set(scene["replies"]) <= removed_posts
    assert scene["lonely"] in {r["thread_id"] for r in heard.get("thread_gone", [])}
    assert scene["answered"] in {r["thread_id"] for r in heard.get("post_changed", [])}
    assert db.session.get(Thread, scene["answered"]).author_name == "[deleted]"
    # And the pages Xena loads afterwards.
    for path in (
        "/s/plaza",
        "/s/circle",
        f"/t/{scene['answered']}",
        "/search?q=markerreplyplaza",
        f"/s/circle/chat/{scene['circle_room']}",
    ):
        page = (
            scene["xena"].get(path).get_data(as_text=True).replace('value="markerreplyplaza"', "")
        )
        assert "marker" not in page and "Rosa" not in page.replace("Xena answers kindly", ""), path


def test_keep_my_posts_keeps_words_without_any_name(scene):
    response = post_form(
        scene["mona"], "/account/delete", {"passphrase": PASSPHRASE, "content": "keep"}
    )
    assert response.status_code == 303
    text = _texts()
    assert "markerchatcircle" in text and "markerreplyplaza" in text  # the words stay
    assert "Mona" not in text and "Rosa" not in text.replace("Xena answers kindly", "")
    names = set(
        db.session.scalars(
            sa.select(ChatMessage.author_name).where(ChatMessage.author_id.is_(None))
        )
    )
    assert names == {"[deleted]"}
    assert set(db.session.scalars(sa.select(Post.author_name).where(Post.author_id.is_(None)))) == {
        "[deleted]"
    }
    page = scene["xena"].get(f"/s/circle/chat/{scene['circle_room']}").get_data(as_text=True)
    assert "markerchatcircle" in page and "[deleted]" in page and "Rosa" not in page


@pytest.mark.parametrize(("lang", "placeholder"), [("es", "[borrado]"), ("ru", "[удалено]")])
def test_a_kept_post_names_its_author_deleted_in_the_readers_words(app, scene, lang, placeholder):
    """The placeholder is stored in English (one value in the database); each reader sees
    it in their language: thread pages, the room page and the history a join answers with.
    It was shown in English to every reader."""
    response = post_form(
        scene["mona"], "/account/delete", {"passphrase": PASSPHRASE, "content": "keep"}
    )
    assert response.status_code == 303
    scene["xena"].set_cookie("rb_lang", lang)
    thread = scene["xena"].get(f"/t/{scene['answered']}").get_data(as_text=True)
    room = scene["xena"].get(f"/s/circle/chat/{scene['circle_room']}").get_data(as_text=True)
    for page in (thread, room):
        assert placeholder in page and "[deleted]" not in page
    assert "markeranswered title" in thread  # the kept title is the author's own words
    sock = Sock(app, scene["xena"])
    joined = sock.ack("join", {"room_id": scene["circle_room"], "after_seq": 0})
    authors = {m["author"] for m in joined["messages"]}
    assert placeholder in authors and "[deleted]" not in authors
    scene["xena"].set_cookie("rb_lang", "en")
    english = scene["xena"].get(f"/t/{scene['answered']}").get_data(as_text=True)
    assert "[deleted]" in english
