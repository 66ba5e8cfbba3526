"""Moderation in chat: Flag/Block per message, blocks in every read path and in live
delivery, watched words, links by trust level, the privacy guard, mutes, auto-hide.

Through the Flask-SocketIO test client and the HTTP pages (see tests/test_chat.py).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import clock
from forum import standing
from forum.app import create_app
from forum.extensions import db
from forum.extensions import socketio
from moderation import actions
from moderation import blocks
from moderation import flags
from moderation import watchwords
from moderation.models import Block
from moderation.models import Flag
from realtime import chat
from realtime import push
from realtime import sockets
from realtime.models import ChatMessage
from realtime.models import ChatSocket
from tests.factories import add_member
from tests.factories import make_message
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import season
from tests.support import Sock
from tests.support import base_config
from tests.support import count_rows
from tests.support import login
from tests.support import post

PHONE = "call me on 07700 900123"


@pytest.fixture
def people(person, lounge):
    """Bo and Chen, members of the lounge, each with a signed-in HTTP client."""
    return {alias: person(alias, lounge.space) for alias in ("Bodil", "Chen")}


def count_messages() -> int:
    return count_rows(ChatMessage)


def join(sock, room, after=0):
    ack = sock.ack("join", {"room_id": room.id, "after_seq": after})
    assert ack["ok"], ack
    return ack


def send(sock, room, body, client_id="client-0001", **extra):
    return sock.ack("send", {"room_id": room.id, "client_id": client_id, "body": body, **extra})


def bodies(messages):
    return [re.sub(r"<[^>]+>", "", m["html"]) for m in messages]


# --- the Flag / Block menu ------------------------------------------------------


def test_each_message_from_someone_else_has_flag_and_block(client, lounge, member, people):
    bo, _ = people["Bodil"]
    theirs = make_message(lounge, bo, "from bo")
    mine = make_message(lounge, member, "from me")
    page = client.get(f"/s/lounge/chat/{lounge.id}").get_data(as_text=True)
    assert page.count('class="chat-msg-menu"') == 1
    assert f'href="/flag/chat/{theirs.id}"' in page
    assert re.search(
        rf'<form class="inline-form chat-block" method="post" action="/block/chat/{theirs.id}">\s*'
        r'<input type="hidden" name="csrf_token" value="[^"]+">',
        page,
    )
    assert f"/flag/chat/{mine.id}" not in page and f"/block/chat/{mine.id}" not in page
    assert "<script>" not in page.split("</main>")[0]  # no inline script (CSP)


def test_flag_link_works_without_javascript(client, lounge, people):
    bo, _ = people["Bodil"]
    message = make_message(lounge, bo, "spammy thing")
    form = client.get(f"/flag/chat/{message.id}")
    assert form.status_code == 200 and "spammy thing" in form.get_data(as_text=True)
    assert post(client, f"/flag/chat/{message.id}", {"reason": "spam"}).status_code == 303
    assert (
        db.session.scalar(sa.select(Flag.target_id).where(Flag.target_kind == "chat")) == message.id
    )


def test_no_author_ids_reach_clients(app, client, lounge, member, people, socket):
    bo, _ = people["Bodil"]
    make_message(lounge, bo, "hello")
    sock = socket()
    ack = join(sock, lounge)
    assert set(ack["messages"][0]) == {
        "id",
        "room_id",
        "seq",
        "author",
        "html",
        "created_at",
        "expires_at",
        "mine",
    }
    assert ack["messages"][0]["mine"] is False
    sent = send(sock, lounge, "mine")
    assert "author_id" not in sent["message"] and str(bo.id) not in str(
        ack["messages"][0]["author"]
    )
    assert set(chat.message_dict(db.session.get(ChatMessage, sent["id"]))) == {
        "id",
        "room_id",
        "seq",
        "author",
        "html",
        "created_at",
        "expires_at",
    }


# --- blocks ----------------------------------------------------------------------


def test_block_hides_their_messages_in_every_read_path(
    client, lounge, member, people, monkeypatch, socket
):
    monkeypatch.setattr(chat, "PAGE", 3)
    bo, bo_client = people["Bodil"]
    chen, chen_client = people["Chen"]
    for i in range(3):
        make_message(lounge, bo, f"BO-{i}")
        make_message(lounge, chen, f"CHEN-{i}")
    first = db.session.scalar(sa.select(ChatMessage).where(ChatMessage.author_id == bo.id))
    assert post(client, f"/block/chat/{first.id}", {}).status_code == 303
    # HTTP page (latest) and its older page
    page = client.get(f"/s/lounge/chat/{lounge.id}").get_data(as_text=True)
    assert "BO-" not in page and "CHEN-2" in page
    older = client.get(f"/s/lounge/chat/{lounge.id}?before=4").get_data(as_text=True)
    assert "BO-" not in older and "CHEN-0" in older
    # Socket: resume (join) and history
    sock = socket()
    assert bodies(join(sock, lounge)["messages"]) == ["CHEN-0", "CHEN-1", "CHEN-2"]
    assert bodies(sock.ack("history", {"room_id": lounge.id, "before_seq": 99})["messages"]) == [
        "CHEN-0",
        "CHEN-1",
        "CHEN-2",
    ]
    # Chen still sees Bo; Bo sees himself
    assert "BO-2" in chen_client.get(f"/s/lounge/chat/{lounge.id}").get_data(as_text=True)
    assert "BO-2" in bo_client.get(f"/s/lounge/chat/{lounge.id}").get_data(as_text=True)


def test_live_delivery_skips_every_socket_of_the_blocker(client, lounge, member, people, socket):
    bo, bo_client = people["Bodil"]
    _chen, chen_client = people["Chen"]
    blocks.block(member, "chat", make_message(lounge, bo, "first").id)
    tab1, tab2, chen, bo_sock = socket(), socket(), socket(chen_client), socket(bo_client)
    for sock in (tab1, tab2, chen, bo_sock):
        join(sock, lounge)
        sock.received()
    assert send(bo_sock, lounge, "not for Amara")["ok"]
    assert bodies(chen.received("message")) == ["not for Amara"]
    assert tab1.received("message") == [] and tab2.received("message") == []
    # Amara's own message still reaches Bo (a block is one-way and silent)
    send(tab1, lounge, "hello all", client_id="client-0002")
    assert bodies(bo_sock.received("message")) == ["hello all"]


def test_live_delivery_costs_the_same_queries_for_one_or_many_blockers(
    lounge, member, make_account, clock
):
    bo = make_account("Bodil")
    add_member(lounge.space, bo)
    message = make_message(lounge, bo, "counted")

    def queries_for_one_delivery() -> int:
        statements = []

        def listener(*args):
            statements.append(args[2])

        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            push.on_message_created(message)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    one = queries_for_one_delivery()
    for i in range(5):
        blocker = make_account(f"blocker{i}")
        db.session.add(
            Block(
                blocker_id=blocker.id,
                blocked_id=bo.id,
                blocked_name="Bodil",
                created_at=clock.now(),
            )
        )
        for j in range(2):
            db.session.add(
                ChatSocket(
                    sid=f"sid-{i}-{j}",
                    account_id=blocker.id,
                    auth_session_id=0,
                    seen_at=clock.now(),
                )
            )
    db.session.commit()
    assert one <= 2 and queries_for_one_delivery() == one
    assert len(sockets.sids_blocking(message)) == 10


def test_blocking_drops_their_messages_live_for_the_blocker_only(
    client, lounge, member, people, socket
):
    bo, _ = people["Bodil"]
    _chen, chen_client = people["Chen"]
    first, second = make_message(lounge, bo, "one"), make_message(lounge, bo, "two")
    amara, chen = socket(), socket(chen_client)
    join(amara, lounge)
    join(chen, lounge)
    amara.received()
    chen.received()
    assert post(client, f"/block/chat/{second.id}", {}).status_code == 303
    [removed] = amara.received("removed")
    assert removed["room_id"] == lounge.id
    assert sorted(removed["ids"]) == sorted([first.id, second.id])
    assert sorted(removed["seqs"]) == sorted([first.seq, second.seq])
    assert chen.received("removed") == []


def test_the_blocked_person_typing_is_not_shown_to_the_blocker(
    client, lounge, member, people, socket
):
    lounge.space.typing_indicator = True
    db.session.commit()
    bo, bo_client = people["Bodil"]
    _chen, chen_client = people["Chen"]
    blocks.block(member, "chat", make_message(lounge, bo, "x").id)
    amara, chen, bo_sock = socket(), socket(chen_client), socket(bo_client)
    for sock in (amara, chen, bo_sock):
        join(sock, lounge)
    assert bo_sock.ack("typing", {"room_id": lounge.id}) == {"ok": True}
    assert amara.received("typing") == [] and len(chen.received("typing")) == 1


@pytest.mark.parametrize("kind", ["open", "closed", "hidden"])
def test_non_member_cannot_flag_or_block_a_chat_message(app, client, member, make_account, kind):
    space = make_space(kind, slug=f"s-{kind}")
    room = make_room(space)
    author = make_account("Author")
    add_member(space, author)
    message = make_message(room, author, "SECRET-CHAT")
    form = client.get(f"/flag/chat/{message.id}")
    assert form.status_code == 404 and "SECRET-CHAT" not in form.get_data(as_text=True)
    assert post(client, f"/flag/chat/{message.id}", {"reason": "spam"}).status_code == 404
    assert post(client, f"/block/chat/{message.id}", {}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Flag)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Block)) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/block/chat/abc",
        "/block/chat/-1",
        "/block/chat/99999",
        "/block/nope/1",
        "/flag/chat/99999",
        "/flag/chat/1.5",
    ],
)
def test_bad_flag_or_block_targets_are_not_found(client, lounge, path):
    assert post(client, path, {"reason": "spam"}).status_code == 404


def test_block_needs_csrf_and_refuses_yourself(client, lounge, member, people):
    bo, _ = people["Bodil"]
    theirs, mine = make_message(lounge, bo, "x"), make_message(lounge, member, "y")
    assert client.post(f"/block/chat/{theirs.id}").status_code == 400
    assert post(client, f"/block/chat/{mine.id}", {}).status_code == 400
    assert post(client, f"/block/chat/{theirs.id}", {}).status_code == 303
    assert post(client, f"/block/chat/{theirs.id}", {}).status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Block)) == 1


# --- watched words -------------------------------------------------------------


@pytest.fixture
def words(lounge, make_account):
    owner = make_account("Kestrel")
    add_member(lounge.space, owner, role="owner")
    for pattern, action in (("badword", "block"), ("rescue", "hold"), ("money", "flag")):
        watchwords.add_word(owner, "lounge", pattern, action)
    return owner


def test_watched_word_block_refuses_with_a_clear_message(app, client, lounge, words, socket):
    ack = send(socket(), lounge, "you BADWORD")
    assert ack["ok"] is False and ack["status"] == 400 and "doesn't allow" in ack["error"]
    assert count_messages() == 0
    response = post(
        client, f"/s/lounge/chat/{lounge.id}", {"body": "you badword", "client_id": "client-0009"}
    )
    assert response.status_code == 400 and "you badword" in response.get_data(as_text=True)
    assert count_messages() == 0


def test_watched_word_hold_stores_hidden_flags_and_tells_only_the_sender(
    client, lounge, words, people, socket
):
    _chen, chen_client = people["Chen"]
    amara, chen = socket(), socket(chen_client)
    join(chen, lounge)
    chen.received()
    ack = send(amara, lounge, "we can rescue you")
    assert ack["ok"] is True and ack["held"] is True and "held for a moderator" in ack["notice"]
    assert "message" not in ack
    stored = db.session.get(ChatMessage, ack["id"])
    assert stored.hidden_at is not None
    flag = db.session.scalar(sa.select(Flag).where(Flag.target_kind == "chat"))
    assert flag.flagger_id is None and flag.weight == 0 and "rescue" in flag.note
    assert chen.received("message") == [] and join(chen, lounge)["messages"] == []
    assert send(amara, lounge, "we can rescue you") == ack  # a retry: stored once, still held
    # A moderator keeps it: the room hears it now.
    actions.keep(words, "lounge", "chat", stored.id)
    [kept] = chen.received("message")
    assert bodies([kept]) == ["we can rescue you"]
    # Marked restored: a client told this seq was removed shows it again (static/js/chat.js).
    assert kept["restored"] is True


def test_watched_word_hold_through_the_form_says_so(client, lounge, words):
    response = post(
        client,
        f"/s/lounge/chat/{lounge.id}",
        {"body": "rescue", "client_id": "client-0010"},
        follow_redirects=True,
    )
    assert "held for a moderator" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(ChatMessage.hidden_at)) is not None


def test_watched_word_flag_stores_visible_and_queues(app, client, lounge, words, people, socket):
    _chen, chen_client = people["Chen"]
    chen = socket(chen_client)
    join(chen, lounge)
    ack = send(socket(), lounge, "free money")
    assert ack["ok"] and "held" not in ack
    assert bodies(chen.received("message")) == ["free money"]
    assert db.session.execute(
        sa.select(Flag.note, Flag.note_code).where(Flag.target_id == ack["id"])
    ).one() == ("money", "watch_flag")


# --- links and trust ------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "see https://example.org",
        "www.example.org is good",
        "[click](https://example.org)",
        "<https://example.org>",
    ],
)
def test_new_accounts_cannot_post_links(app, client, lounge, body, socket):
    ack = send(socket(), lounge, body)
    assert ack["ok"] is False and ack["status"] == 403 and "can't post links" in ack["error"]
    response = post(
        client, f"/s/lounge/chat/{lounge.id}", {"body": body, "client_id": "client-0011"}
    )
    assert response.status_code == 403 and "can&#39;t post links" in response.get_data(as_text=True)
    assert count_messages() == 0


def test_members_may_post_links_and_plain_text_is_not_a_link(client, lounge, member, clock, socket):
    sock = socket()
    assert send(sock, lounge, "example dot org, javascript:alert(1)")["ok"]
    season(member, lounge)
    assert send(sock, lounge, "see https://example.org", client_id="client-0002")["ok"]


def test_the_rate_comes_from_the_trust_level(app, client, lounge, member, socket):
    """The rate of the name shown in the room: Amara's space name here, trusted by its
    own standing (40 days in the space, 50 posts), whatever her account's is."""
    assert not hasattr(chat, "_rate")
    app.config["RB_LIMIT_CHAT_TRUSTED"] = "2 per 10 seconds"  # narrower than a new name's
    here = standing.membership_in(member.id, lounge.space_id)
    here.joined_at = clock.today() - timedelta(days=40)
    here.trust_posts = standing.POSTS_KEPT
    db.session.commit()
    sock = socket()
    acks = [send(sock, lounge, "x", client_id=f"client-{i:04}") for i in range(3)]
    assert [a["ok"] for a in acks] == [True, True, False] and acks[2]["status"] == 429


# --- privacy guard -----------------------------------------------------------------


def test_guard_asks_first_and_stores_nothing_until_confirmed(app, client, lounge, people, socket):
    _chen, chen_client = people["Chen"]
    chen = socket(chen_client)
    join(chen, lounge)
    sock = socket()
    ack = send(sock, lounge, PHONE, client_id="client-guard")
    assert ack["ok"] is False and ack["needs_confirmation"] is True and ack["status"] == 422
    assert "phone number" in ack["error"] and ack["findings"] == [
        {"kind": "phone", "text": "07700 900123"}
    ]
    assert count_messages() == 0 and chen.received("message") == []
    ok = send(sock, lounge, PHONE, client_id="client-guard", confirmed=True)
    assert ok["ok"] is True and ok["message"]["seq"] == 1
    assert send(sock, lounge, PHONE, client_id="client-guard", confirmed=True) == ok
    # Stored once; the retry announces the same seq again (clients drop the repeat).
    assert count_messages() == 1 and {m["seq"] for m in chen.received("message")} == {1}


@pytest.mark.parametrize("confirmed", ["yes", "true", 1, [True], {"a": True}, None, "", 0.0, False])
def test_guard_only_a_real_true_confirms(app, client, lounge, confirmed, socket):
    ack = send(socket(), lounge, PHONE, confirmed=confirmed)
    assert ack["ok"] is False and ack["needs_confirmation"] is True
    assert count_messages() == 0


def test_guard_findings_are_bounded(app, client, lounge, socket):
    body = ", ".join(f"07700 9{i:05}" for i in range(140))[:2000]
    ack = send(socket(), lounge, body)
    assert ack["needs_confirmation"] and len(ack["findings"]) == chat.MAX_FINDINGS
    assert all(set(f) == {"kind", "text"} and len(f["text"]) <= 80 for f in ack["findings"])


def test_guard_without_javascript_rerenders_with_a_checkbox(client, lounge):
    response = post(
        client, f"/s/lounge/chat/{lounge.id}", {"body": PHONE, "client_id": "client-form1"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "phone number" in page
    assert 'name="confirm" value="1" form="chat-form"' in page
    assert 'name="client_id" value="client-form1"' in page and PHONE in page
    assert count_messages() == 0
    response = post(
        client,
        f"/s/lounge/chat/{lounge.id}",
        {"body": PHONE, "client_id": "client-form1", "confirm": "1"},
    )
    assert response.status_code == 303 and count_messages() == 1


# --- mutes ---------------------------------------------------------------------------


def test_a_mute_by_a_moderator_reaches_the_socket_and_sending_is_refused(
    app, client, lounge, member, make_account, socket
):
    moderator = make_account("Wren")
    add_member(lounge.space, moderator, role="moderator")
    message = make_message(lounge, member, "something rude")
    sock = socket()
    join(sock, lounge)
    actions.mute(moderator, "lounge", "chat", message.id, "24", "be kind")
    [muted] = sock.received("muted")
    assert muted["space_id"] == lounge.space_id and muted["until"]
    ack = send(sock, lounge, "still here?")
    assert ack == {"ok": False, "error": "You are muted in this space for now.", "status": 403}
    response = post(
        client, f"/s/lounge/chat/{lounge.id}", {"body": "via form", "client_id": "client-0003"}
    )
    assert response.status_code == 403 and "muted" in response.get_data(as_text=True)
    assert join(sock, lounge)["messages"]  # can still read
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatMessage)) == 1


# --- auto-hide (the socket test) -------------------------------------------


def test_auto_hide_removes_a_message_live(
    app, client, lounge, member, people, make_account, clock, socket
):
    bo, bo_client = people["Bodil"]
    chen, chen_client = people["Chen"]
    dana = make_account("Dana")
    add_member(lounge.space, dana)
    for flagger in (member, chen, dana):
        season(flagger, lounge)
    bad = make_message(lounge, bo, "BAD-MESSAGE")
    socks = {
        name: socket(c) for name, c in (("amara", client), ("chen", chen_client), ("bo", bo_client))
    }
    for sock in socks.values():
        join(sock, lounge)
        sock.received()
    assert not flags.flag(member, "chat", bad.id, "spam").hidden
    assert not flags.flag(chen, "chat", bad.id, "harassment").hidden
    assert all(s.received("removed") == [] for s in socks.values())
    dana_client = app.test_client()
    login(dana_client, "Dana")
    assert (
        post(dana_client, f"/flag/chat/{bad.id}", {"reason": "spam"}).status_code == 303
    )  # the HTTP route
    for sock in socks.values():
        assert sock.received("removed") == [
            {"room_id": lounge.id, "ids": [bad.id], "seqs": [bad.seq]}
        ]
    for sock in (socks["amara"], socks["chen"]):
        assert "BAD-MESSAGE" not in str(join(sock, lounge)["messages"])
        assert "BAD-MESSAGE" not in str(
            sock.ack("history", {"room_id": lounge.id, "before_seq": 999})
        )
    assert "BAD-MESSAGE" not in client.get(f"/s/lounge/chat/{lounge.id}").get_data(as_text=True)


def test_an_app_without_redis_drops_the_queue_an_earlier_app_set(
    tmp_path, redis_url, app, client, lounge
):
    """A Redis app built earlier in the process must not leave its queue on this one."""

    create_app(base_config(tmp_path, REDIS_URL=redis_url, RB_SOCKETIO_CHANNEL="rb-test-leak"))
    assert "client_manager" in socketio.server_options
    fresh = create_app(
        base_config(tmp_path, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    )
    assert "client_manager" not in socketio.server_options
    with fresh.app_context():
        fresh.test_client_class = type(client)
        other = fresh.test_client()
        login(other, "Amara")
        assert Sock(fresh, other).connected
