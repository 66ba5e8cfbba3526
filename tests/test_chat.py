"""Chat rules through the Flask-SocketIO test client and the HTTP pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

import realtime
from forum import accounts
from forum import clock as clock_module
from forum import disk
from forum import expiry
from forum import markdown
from forum import sealed
from forum import sessions
from forum import signals
from forum.app import ConfigError
from forum.app import create_app
from forum.extensions import db
from forum.models import Account
from forum.models import AuthSession
from forum.models import Membership
from forum.models import Space
from realtime import chat
from realtime import push
from realtime import sockets
from realtime.models import ChatMessage
from realtime.models import ChatRoom
from realtime.models import ChatSocket
from realtime.models import ChatSocketRoom
from tests.factories import add_member
from tests.factories import make_message
from tests.factories import make_post
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread
from tests.factories import season
from tests.support import base_config
from tests.support import count_rows
from tests.support import post


def count_messages() -> int:
    return count_rows(ChatMessage)


# --- connect ----------------------------------------------------------------------


def test_connect_needs_session(app, client, socket):
    assert not socket().connected


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://localhost:8080"},
        {"Origin": "null"},
        {},  # no Origin, no Sec-Fetch-Site: refused
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_connect_refuses_foreign_or_missing_origin(app, client, member, headers, socket):
    assert not socket(headers=headers).connected
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatSocket)) == 0


def test_same_origin_fetch_without_origin_header_is_accepted(app, client, member, socket):
    assert socket(headers={"Sec-Fetch-Site": "same-origin"}).connected


def test_connect_registers_socket_in_the_database(app, client, member, socket):
    sock = socket()
    assert sock.connected
    row = db.session.scalar(sa.select(ChatSocket))
    assert row.account_id == member.id


def test_connect_follows_the_session_rules_pages_follow(app, client, member, clock, socket):
    """A connect reads its session as one plain row (``sessions.find_socket_session``)
    by the rules a page's session follows: touched once a day, refused while the account
    is suspended, refused and deleted once idle past the limit."""
    token_hash = sessions.hash_token(client.get_cookie(sessions.COOKIE_NAME).value)
    session = db.session.scalar(sa.select(AuthSession).where(AuthSession.token_hash == token_hash))
    session_id, seen = session.id, session.last_seen_at
    clock.advance(days=2)
    assert socket().connected
    db.session.expire_all()
    assert db.session.get(AuthSession, session_id).last_seen_at > seen
    member.suspended_until = clock.now() + timedelta(days=1)
    db.session.commit()
    assert not socket().connected
    member.suspended_until = None
    db.session.commit()
    clock.advance(days=app.config["RB_SESSION_IDLE_DAYS"] + 1)
    assert not socket().connected
    db.session.expire_all()
    assert db.session.get(AuthSession, session_id) is None


# --- join, send, resume -------------------------------------------------------------


def test_two_members_chat_live(app, client, lounge, make_account, socket, person):
    _bo, bo_client = person("Bodil", lounge.space)
    amara, bo = socket(), socket(bo_client)
    assert amara.ack("join", {"room_id": lounge.id, "after_seq": 0})["ok"]
    assert bo.ack("join", {"room_id": lounge.id, "after_seq": 0})["ok"]
    bo.received()
    ack = amara.ack(
        "send",
        {"room_id": lounge.id, "client_id": "client-1", "body": "hi **Bo** <script>x</script>"},
    )
    assert ack["ok"] and ack["seq"] == 1 and ack["id"] and ack["expires_at"]
    [heard] = bo.received("message")
    assert heard["seq"] == 1 and heard["author"] == "Amara-here"
    assert heard["html"] == "hi <strong>Bo</strong> &lt;script&gt;x&lt;/script&gt;"
    assert "author_id" not in heard
    assert amara.received("message") == []  # the sender has it from the ack


def test_message_expiry_comes_from_the_space(app, client, lounge, clock, socket):
    lounge.space.chat_retention_hours = 6
    db.session.commit()
    sock = socket()
    ack = sock.ack("send", {"room_id": lounge.id, "client_id": "client-1", "body": "x"})
    stored = db.session.get(ChatMessage, ack["id"])
    assert stored.expires_at == clock.now() + timedelta(hours=6)
    clock.advance(hours=6, seconds=1)
    assert sock.ack("join", {"room_id": lounge.id, "after_seq": 0})["messages"] == []
    assert expiry.delete_expired(clock.now())["chat"] == 1
    assert count_messages() == 0


def test_retry_with_same_client_id_is_stored_once_and_announced_again(
    app, client, lounge, make_account, socket, person
):
    """A retry is stored once; the room hears the same seq again (clients drop repeats)."""
    _bo, bo_client = person("Bodil", lounge.space)
    amara, bo = socket(), socket(bo_client)
    bo.ack("join", {"room_id": lounge.id, "after_seq": 0})
    data = {"room_id": lounge.id, "client_id": "retry-me-1", "body": "once"}
    first, second = amara.ack("send", data), amara.ack("send", data)
    assert first == second and first["ok"]
    assert count_messages() == 1
    heard = bo.received("message")
    assert [(m["id"], m["seq"]) for m in heard] == [(first["id"], first["seq"])] * 2
    assert amara.received("message") == []  # the sender has it from the ack, both times


def test_send_does_not_read_back_the_message_it_stored(app, client, lounge, socket, person):
    """The ack and the broadcast use the values just written: no SELECT of the new row
    after its INSERT (a query, and two decryptions of its sealed body and HTML)."""
    _bo, bo_client = person("Bodil", lounge.space)
    amara, bo = socket(), socket(bo_client)
    bo.ack("join", {"room_id": lounge.id, "after_seq": 0})
    statements: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        ack = amara.ack("send", {"room_id": lounge.id, "client_id": "no-reload-1", "body": "*hi*"})
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert ack["ok"] and ack["message"]["html"] == "<em>hi</em>"
    [heard] = bo.received("message")
    assert heard == ack["message"]
    inserted = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO chat_m"))
    assert not [s for s in statements[inserted:] if "FROM chat_messages" in s]


def test_send_parses_the_markdown_once(app, client, lounge, socket, monkeypatch):
    """The link check (screening) and the stored HTML come from one parse of the message
    (they were two: ``links_in`` and ``render_inline``)."""
    parses: list[str] = []
    original = markdown._INLINE.parseInline

    def parse(text, env=None):
        parses.append(text)
        return original(text, env)

    sock = socket()
    monkeypatch.setattr(markdown._INLINE, "parseInline", parse)
    ack = sock.ack(
        "send", {"room_id": lounge.id, "client_id": "parse-once-1", "body": "*hi* there"}
    )
    assert ack["ok"] and ack["message"]["html"] == "<em>hi</em> there"
    assert parses == ["*hi* there"]


def test_send_checks_access_before_the_client_id(app, client, lounge, socket):
    """The retry lookup rides on the access statement, yet a room the sender may not see
    is refused as missing whatever the client id, and a bad id in a room they may use
    is refused as such; a retry still finds what it stored."""
    hidden = make_room(make_space("hidden", slug="s-hidden-send"))
    sock = socket()
    for client_id in ("ok-client-1", "bad id!", {"not": "a string"}, None):
        data = {"room_id": hidden.id, "client_id": client_id, "body": "hi"}
        ack = sock.ack("send", data)
        assert ack["ok"] is False and ack["status"] == 404, (client_id, ack)
    for client_id in ("bad id!", {"not": "a string"}, None, "x" * 65):
        ack = sock.ack("send", {"room_id": lounge.id, "client_id": client_id, "body": "hi"})
        assert ack["ok"] is False and ack["status"] == 400, (client_id, ack)
    data = {"room_id": lounge.id, "client_id": "retry-find-1", "body": "once"}
    first, again = sock.ack("send", data), sock.ack("send", data)
    assert first["ok"] and again == first and count_messages() == 1


def test_send_builds_the_message_payload_once(app, client, lounge, socket, person, monkeypatch):
    """The room's broadcast and the author's ack carry one payload, built once (it was
    built for each)."""
    _bo, bo_client = person("Bodil", lounge.space)
    amara, bo = socket(), socket(bo_client)
    bo.ack("join", {"room_id": lounge.id, "after_seq": 0})
    built: list[int] = []
    original = chat.message_dict

    def message_dict(message):
        built.append(message.id)
        return original(message)

    monkeypatch.setattr(chat, "message_dict", message_dict)
    ack = amara.ack("send", {"room_id": lounge.id, "client_id": "payload-1", "body": "once"})
    assert ack["ok"] and built == [ack["id"]]
    [heard] = bo.received("message")
    assert heard == ack["message"] == original(db.session.get(ChatMessage, ack["id"]))


def test_send_takes_one_connection_and_still_skips_blockers(
    app, client, lounge, member, socket, person
):
    """The blockers' sockets are read in the send's own transaction, before its write: a
    send checks out one connection (it was two: the read came after the commit), and a
    member who blocked the name still never hears it."""
    _bo, bo_client = person("Bodil", lounge.space)
    _cy, cy_client = person("Cyril", lounge.space)
    amara, bo, cy = socket(), socket(bo_client), socket(cy_client)
    for sock in (bo, cy):
        assert sock.ack("join", {"room_id": lounge.id, "after_seq": 0})["ok"]
    first = amara.ack("send", {"room_id": lounge.id, "client_id": "blocked-1", "body": "hi"})
    [heard] = cy.received("message")
    assert post(bo_client, f"/block/chat/{heard['id']}", {}).status_code == 303
    checkouts: list[int] = []

    def count(*_args: object) -> None:
        checkouts.append(1)

    db.session.remove()  # as a server's event starts: no connection held
    sa.event.listen(db.engine, "checkout", count)
    try:
        ack = amara.ack("send", {"room_id": lounge.id, "client_id": "blocked-2", "body": "again"})
    finally:
        sa.event.remove(db.engine, "checkout", count)
    assert first["ok"] and ack["ok"]
    assert len(checkouts) == 1
    assert [m["seq"] for m in cy.received("message")] == [ack["seq"]]
    assert ack["seq"] not in [m["seq"] for m in bo.received("message")]


def test_send_stores_the_message_without_the_unit_of_work(app, client, lounge, socket):
    """The INSERT is one prebuilt statement, not an ORM flush of a new ChatMessage; the
    row is what the ORM would have written: text and HTML sealed under the key of the
    room's space and hour of expiry, every other column as sent."""
    flushed: list[object] = []

    def note(session, _context, _instances) -> None:
        flushed.extend(obj for obj in session.new if isinstance(obj, ChatMessage))

    sock = socket()
    sa.event.listen(db.session, "before_flush", note)
    try:
        ack = sock.ack(
            "send", {"room_id": lounge.id, "client_id": "core-insert-1", "body": "**b**"}
        )
    finally:
        sa.event.remove(db.session, "before_flush", note)
    assert ack["ok"] and flushed == []
    table = ChatMessage.__table__
    raw = db.session.execute(
        sa.select(
            sa.func.substr(table.c.body, 1, 4), sa.func.substr(table.c.body_html, 1, 4)
        ).where(table.c.id == ack["id"])
    ).one()
    assert tuple(raw) == (sealed.MAGIC, sealed.MAGIC)
    db.session.expire_all()
    stored = db.session.get(ChatMessage, ack["id"])
    assert (stored.body, stored.body_html) == ("**b**", "<strong>b</strong>")
    assert stored.body.key_id == stored.body_html.key_id == sealed.key_id_for(stored)
    assert (stored.room_id, stored.space_id, stored.seq) == (lounge.id, lounge.space_id, ack["seq"])
    assert stored.client_id == "core-insert-1" and stored.hidden_at is None
    assert chat.message_dict(stored) == ack["message"]


def test_send_runs_the_same_few_statements_whatever_the_history_or_room_size(
    app, client, lounge, member, socket, person, make_account
):
    """Per-message work does not grow with the author's history or the room: a send is
    the session check, the room with its space, the sender's membership, the
    stored-retry lookup and the space's watched words (one statement), the blockers'
    sockets, the seq and the insert (and the name's post counter until it reaches its
    cap, forum/standing.py)."""
    room_id, space_id, member_id = lounge.id, lounge.space_id, member.id
    amara = socket()
    amara.ack("join", {"room_id": room_id, "after_seq": 0})

    def statements_of_a_send(client_id: str) -> list[str]:
        seen: list[str] = []

        def record(_connection, _cursor, statement, *_args) -> None:
            words = statement.split()
            if words[:2] not in (["UPDATE", "memberships"], ["UPDATE", "accounts"]):
                seen.append(" ".join(words[:2]))  # not the trust counter (it stops at a cap)

        db.session.remove()  # as a server's event starts: nothing loaded yet
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            answer = amara.ack("send", {"room_id": room_id, "client_id": client_id, "body": "x"})
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)
        assert answer["ok"]
        return seen

    statements_of_a_send("warm-up-1")  # the first message of an hour makes its key
    small = statements_of_a_send("small-room-1")
    space = db.session.get(Space, space_id)
    for i in range(3):
        _other, other_client = person(f"Listener{i}", space)
        socket(other_client).ack("join", {"room_id": room_id, "after_seq": 0})
    for i in range(20):
        add_member(space, make_account(f"Member{i}"))
    room, author = db.session.get(ChatRoom, room_id), db.session.get(Account, member_id)
    for i in range(60):
        make_message(room, author, f"history {i}")
    assert statements_of_a_send("big-room-1") == small
    assert len(small) == 5, small


def test_a_link_is_judged_by_the_standing_of_the_membership_in_hand(app, lounge, member, socket):
    """A link in a message asks the name's trust level: read from the membership the
    send's access statement loaded (a plain row), so a new name's link is refused after
    the session check and that one statement, with no lookup of the membership or the
    account behind it."""
    amara = socket()
    amara.ack("join", {"room_id": lounge.id, "after_seq": 0})
    seen: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        seen.append(" ".join(statement.split()[:2]))

    db.session.remove()  # as a server's event starts: nothing loaded yet
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        data = {"room_id": lounge.id, "client_id": "link-0001", "body": "see https://example.org"}
        answer = amara.ack("send", data)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert answer["ok"] is False and answer["status"] == 403  # a new name: no links yet
    assert seen == ["SELECT accounts.id,", "SELECT chat_rooms.id,"], seen


def test_message_stored_by_a_process_that_died_before_announcing_reaches_the_room_on_retry(
    app, client, lounge, member, socket, person
):
    """The second loss cause: commit, then the process dies before its broadcast. The
    author never got the ack and retries (on another process): the retry finds the row,
    acks it, and the others hear it now."""
    _bo, bo_client = person("Bodil", lounge.space)
    amara, bo = socket(), socket(bo_client)
    bo.ack("join", {"room_id": lounge.id, "after_seq": 0})
    data = {"room_id": lounge.id, "client_id": "died-before-1", "body": "still here"}
    with signals.chat_message_created.muted():  # the broadcast that never went out
        chat.post_message(member, lounge.id, data["client_id"], data["body"])
    assert bo.received("message") == []
    ack = amara.ack("send", data)
    assert ack["ok"] and ack["seq"] == 1
    [heard] = bo.received("message")
    assert heard["seq"] == 1 and heard["html"] == "still here"
    assert count_messages() == 1


def test_retry_of_an_expired_message_is_acked_but_not_announced(
    app, client, lounge, clock, socket, person
):
    _bo, bo_client = person("Bodil", lounge.space)
    amara, bo = socket(), socket(bo_client)
    bo.ack("join", {"room_id": lounge.id, "after_seq": 0})
    data = {"room_id": lounge.id, "client_id": "old-news-1", "body": "soon gone"}
    assert amara.ack("send", data)["ok"]
    bo.received()
    clock.advance(hours=lounge.space.chat_retention_hours, seconds=1)
    assert amara.ack("send", data)["ok"]
    assert bo.received("message") == []


def test_announcing_again_is_rate_limited_but_the_retry_is_still_acked(
    app, client, lounge, socket, person, monkeypatch
):
    """A client replaying one id cannot make the room hear it without end."""
    monkeypatch.setattr(chat, "REANNOUNCE_RATE", "2 per minute")
    _bo, bo_client = person("Bodil", lounge.space)
    amara, bo = socket(), socket(bo_client)
    bo.ack("join", {"room_id": lounge.id, "after_seq": 0})
    data = {"room_id": lounge.id, "client_id": "replayed-1", "body": "again"}
    acks = [amara.ack("send", data) for _ in range(6)]
    assert all(a["ok"] and a["seq"] == 1 for a in acks)
    assert len(bo.received("message")) == 1 + 2
    assert count_messages() == 1


def test_idempotency_race_returns_the_stored_message(app, member, lounge, monkeypatch):
    """Two sends with one client id racing: the loser's insert fails and it acks the winner."""
    first, _ = chat.post_message(member, lounge.id, "race-id-1", "one")
    real_find = chat._find
    calls = iter([None])  # the loser's first look finds nothing (the race)
    monkeypatch.setattr(chat, "_find", lambda *a: next(calls, None) or real_find(*a))
    again, created = chat.post_message(member, lounge.id, "race-id-1", "one")
    assert not created and again.id == first.id
    assert count_messages() == 1
    assert db.session.get(type(lounge), lounge.id).last_seq == 1  # the loser's seq rolled back


def test_resume_returns_exactly_the_missed_messages_in_order(
    app, client, lounge, make_account, socket, person
):
    app.config["RB_LIMIT_CHAT_NEW"] = "100 per 10 seconds"
    bo, _ = person("Bodil", lounge.space)
    for i in range(25):
        chat.post_message(bo, lounge.id, f"client-{i:03}", f"m{i}")
    ack = socket().ack("join", {"room_id": lounge.id, "after_seq": 5})
    assert [m["seq"] for m in ack["messages"]] == list(range(6, 26)) and ack["more"] is False


def test_a_join_reads_the_last_seq_of_its_own_room(app, client, lounge, member, socket):
    """The join's room row and its room's ``last_seq`` come from one statement: with
    several rooms, each joined socket hears its own room's (``through``), and a socket
    joining a room again (no new row) reads it too."""
    app.config["RB_LIMITS_ENABLED"] = False
    other = make_room(lounge.space, "Other room")
    for i in range(4):
        make_message(lounge, member, f"lounge {i}")
    make_message(other, member, "other 0")
    sock = socket()
    ack = sock.ack("join", {"room_id": other.id, "after_seq": 1})
    assert (ack["messages"], ack["through"]) == ([], 1)
    ack = sock.ack("join", {"room_id": lounge.id, "after_seq": 4})
    assert (ack["messages"], ack["through"]) == ([], 4)
    make_message(lounge, member, "lounge 4")
    ack = sock.ack("join", {"room_id": lounge.id, "after_seq": 4})  # already in: no row
    assert [m["seq"] for m in ack["messages"]] == [5] and ack["through"] == 5
    assert count_rows(ChatSocketRoom) == 2


def test_a_join_asked_for_at_connect_answers_as_the_join_event(
    app, client, lounge, member, socket, person
):
    """chat.js asks to join in the handshake (``auth: {room_id, after_seq}``): the same
    join as the ``join`` event, by the same service, its answer as the ``joined`` event
    (the join ack's), and the socket is in the room: it hears what is sent next."""
    app.config["RB_LIMITS_ENABLED"] = False
    for i in range(3):
        make_message(lounge, member, f"lounge {i}")
    sock = socket(auth={"room_id": lounge.id, "after_seq": 1})
    assert sock.connected
    (joined,) = sock.received("joined")
    by_event = socket().ack("join", {"room_id": lounge.id, "after_seq": 1})
    assert joined["ok"] is True and [m["seq"] for m in joined["messages"]] == [2, 3]
    assert {**joined, "presence": None} == {**by_event, "presence": None}
    assert joined["presence"]["count"] == 1  # read after its own entry
    assert count_rows(ChatSocketRoom) == 2
    _bo, bo_client = person("Bodil", lounge.space)
    hello = {"room_id": lounge.id, "client_id": "client-1", "body": "hi"}
    assert socket(bo_client).ack("send", hello)["ok"]
    assert [m["seq"] for m in sock.received("message")] == [4]
    assert socket(auth={"token": "x"}).received("joined") == []  # no room asked: no join


@pytest.mark.parametrize(
    ("kind", "error"),
    [("open", "Join this space"), ("closed", "could not find"), ("hidden", "could not find")],
)
def test_a_join_refused_at_connect_is_answered_and_the_connection_stays(
    app, client, member, kind, error, socket
):
    """The join in the handshake follows the join's rules (here: not a member); refused,
    it is answered like the event's (``joined`` with ok false) and the socket stays
    connected, in no room, as after a refused ``join`` event."""
    room = make_room(make_space(kind, slug=f"s-{kind}"))
    sock = socket(auth={"room_id": room.id, "after_seq": 0})
    assert sock.connected
    (joined,) = sock.received("joined")
    assert joined["ok"] is False and error in joined["error"]
    assert count_rows(ChatSocketRoom) == 0
    assert sock.ack("heartbeat", {})["ok"] is True
    (bad,) = socket(auth={"room_id": "nope", "after_seq": 0}).received("joined")
    assert bad["ok"] is False and bad["status"] == 404


@pytest.mark.parametrize(
    "auth",
    [
        {"room_id": None},
        {"room_id": [1], "after_seq": 0},
        {"room_id": {"$gt": 0}},
        {"room_id": 10**40, "after_seq": 0},
        {"room_id": -1, "after_seq": -5},
        {"room_id": True, "after_seq": 0},
        {"room_id": "1 OR 1=1", "after_seq": "0"},
        {"room_id": "LOUNGE", "after_seq": [0]},
        {"room_id": "LOUNGE", "after_seq": 10**40},
        {"room_id": "\x00" * 5000},
    ],
)
def test_a_hostile_join_at_connect_is_refused_cleanly(app, client, lounge, member, socket, auth):
    """Whatever a stranger puts in the handshake's room: an answer with ok false and a
    4xx status, never a 500 and never a room joined; the connection stays usable."""
    app.config["RB_LIMITS_ENABLED"] = False
    if auth.get("room_id") == "LOUNGE":  # a real room with a hostile after_seq
        auth = {**auth, "room_id": lounge.id}
    sock = socket(auth=auth)
    assert sock.connected
    (joined,) = sock.received("joined")
    assert joined["ok"] is False and 400 <= joined["status"] < 500, joined
    assert count_rows(ChatSocketRoom) == 0
    assert sock.ack("heartbeat", {})["ok"] is True


def test_resume_is_bounded_and_says_more(app, client, lounge, member, monkeypatch, socket):
    monkeypatch.setattr(chat, "RESUME_MAX", 3)
    app.config["RB_LIMITS_ENABLED"] = False
    for i in range(5):
        chat.post_message(member, lounge.id, f"client-{i:03}", f"m{i}")
    sock = socket()
    ack = sock.ack("join", {"room_id": lounge.id, "after_seq": 0})
    assert [m["seq"] for m in ack["messages"]] == [1, 2, 3] and ack["more"] is True
    ack = sock.ack("join", {"room_id": lounge.id, "after_seq": 3})
    assert [m["seq"] for m in ack["messages"]] == [4, 5] and ack["more"] is False


def test_resume_says_which_seqs_it_covered_so_gone_ones_close_the_gap(
    app, client, lounge, member, clock, socket, monkeypatch
):
    """A client that saw seq 5 but not 2-4 asks for everything after 1: hidden and
    expired seqs are not in the answer, and ``through`` tells it they are gone."""
    app.config["RB_LIMITS_ENABLED"] = False
    made = [chat.post_message(member, lounge.id, f"client-{i:03}", f"m{i}")[0] for i in range(6)]
    made[1].hidden_at = clock.now()  # seq 2: hidden by a moderator
    made[5].hidden_at = clock.now()  # seq 6, the newest: hidden too
    db.session.commit()
    sock = socket()
    for event in ("join", "history"):
        ack = sock.ack(event, {"room_id": lounge.id, "after_seq": 1})
        assert [m["seq"] for m in ack["messages"]] == [3, 4, 5]
        assert ack["through"] == 6 and ack["more"] is False
    monkeypatch.setattr(chat, "RESUME_MAX", 2)
    ack = sock.ack("history", {"room_id": lounge.id, "after_seq": 0})
    assert [m["seq"] for m in ack["messages"]] == [1, 3] and ack["more"] is True
    assert ack["through"] == 3  # only what this page covered; 4 and up are still to ask
    ack = sock.ack("history", {"room_id": lounge.id, "after_seq": 99})
    assert ack["messages"] == [] and ack["through"] == 99


def test_gap_filling_refuses_what_join_refuses(app, client, member, lounge, socket):
    """``history`` with ``after_seq`` is the resume answer: a stranger to the room gets the
    same refusal as for a missing room, and bad numbers are refused."""
    room = make_room(make_space("hidden", slug="s-hidden"))
    sock = socket()
    for data in ({"room_id": room.id, "after_seq": 0}, {"room_id": 10**6, "after_seq": 0}):
        ack = sock.ack("history", data)
        assert ack["ok"] is False and "could not find" in ack["error"]
    for bad in (-1, "x", 2**40, True, [1]):
        ack = sock.ack("history", {"room_id": lounge.id, "after_seq": bad})
        assert ack["ok"] is False and "not valid" in ack["error"]


def test_history_pages_backwards(app, client, lounge, member, monkeypatch, socket):
    monkeypatch.setattr(chat, "PAGE", 2)
    app.config["RB_LIMITS_ENABLED"] = False
    for i in range(5):
        chat.post_message(member, lounge.id, f"client-{i:03}", f"m{i}")
    ack = socket().ack("history", {"room_id": lounge.id, "before_seq": 4})
    assert [m["seq"] for m in ack["messages"]] == [2, 3] and ack["more"] is True


def test_hidden_messages_are_left_out_of_every_read(app, client, lounge, member, clock, socket):
    kept, _ = chat.post_message(member, lounge.id, "client-001", "kept")
    hidden, _ = chat.post_message(member, lounge.id, "client-002", "HIDDEN-TEXT")
    hidden.hidden_at = clock.now()
    db.session.commit()
    sock = socket()
    assert [
        m["seq"] for m in sock.ack("join", {"room_id": lounge.id, "after_seq": 0})["messages"]
    ] == [1]
    assert [
        m["seq"] for m in sock.ack("history", {"room_id": lounge.id, "before_seq": 99})["messages"]
    ] == [1]
    page = client.get(f"/s/lounge/chat/{lounge.id}").get_data(as_text=True)
    assert "kept" in page and "HIDDEN-TEXT" not in page
    assert f'data-id="{kept.id}"' in page


# --- authorisation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "error"),
    [("open", "Join this space"), ("closed", "could not find"), ("hidden", "could not find")],
)
def test_non_member_join_and_send_are_refused(app, client, member, kind, error, socket):
    space = make_space(kind, slug=f"s-{kind}")
    room = make_room(space)
    sock = socket()
    for event, data in (
        ("join", {"room_id": room.id, "after_seq": 0}),
        ("send", {"room_id": room.id, "client_id": "client-1", "body": "x"}),
        ("history", {"room_id": room.id}),
    ):
        ack = sock.ack(event, data)
        assert ack["ok"] is False and error in ack["error"]
    assert count_messages() == 0
    assert client.get(f"/s/s-{kind}/chat/{room.id}").status_code == (403 if kind == "open" else 404)


def test_room_of_another_space_is_not_found_by_url(app, client, lounge):
    other = make_room(make_space(slug="elsewhere"))
    assert client.get(f"/s/lounge/chat/{other.id}").status_code == 404


def test_muted_member_cannot_send_but_can_read(app, client, lounge, member, clock, socket):
    membership = db.session.scalar(sa.select(Membership).where(Membership.account_id == member.id))
    membership.muted_until = clock.now() + timedelta(hours=1)
    db.session.commit()
    sock = socket()
    assert sock.ack("join", {"room_id": lounge.id, "after_seq": 0})["ok"]
    ack = sock.ack("send", {"room_id": lounge.id, "client_id": "client-1", "body": "x"})
    assert ack == {"ok": False, "error": "You are muted in this space for now.", "status": 403}


def test_archived_room_is_read_only(app, client, lounge, member, socket):
    lounge.space_id
    db.session.execute(sa.update(Membership).values(role="owner"))
    db.session.commit()
    chat.archive_room(member, "lounge", lounge.id)
    ack = socket().ack("send", {"room_id": lounge.id, "client_id": "client-1", "body": "x"})
    assert ack["ok"] is False and "archived" in ack["error"]


def test_removed_member_stops_receiving_at_once(app, client, lounge, make_account, socket, person):
    bo, bo_client = person("Bodil", lounge.space)
    amara, bo_sock = socket(), socket(bo_client)
    amara.ack("join", {"room_id": lounge.id, "after_seq": 0})
    bo_sock.ack("join", {"room_id": lounge.id, "after_seq": 0})
    bo_sock.received()
    db.session.execute(sa.delete(Membership).where(Membership.account_id == bo.id))
    db.session.commit()
    signals.member_removed.send(lounge.space_id, account_id=bo.id)
    assert bo_sock.received("closed")[0]["room_ids"] == [lounge.id]
    amara.ack("send", {"room_id": lounge.id, "client_id": "client-1", "body": "not for Bo"})
    assert bo_sock.received("message") == []
    assert bo_sock.ack("join", {"room_id": lounge.id, "after_seq": 0})["ok"] is False


def test_logout_elsewhere_disconnects_the_socket(app, client, lounge, member, socket):
    sock = socket()
    sock.ack("join", {"room_id": lounge.id, "after_seq": 0})
    session_row = db.session.scalar(sa.select(ChatSocket)).auth_session_id
    from forum.models import AuthSession

    accounts.log_out(db.session.get(AuthSession, session_row))
    assert not sock.connected
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatSocket)) == 0


def test_session_is_rechecked_at_every_event(app, client, lounge, member, clock, socket):
    sock = socket()
    clock.advance(
        days=app.config["RB_SESSION_IDLE_DAYS"] + 1
    )  # idle limit passed, no logout signal
    ack = sock.ack("send", {"room_id": lounge.id, "client_id": "client-1", "body": "x"})
    assert ack["ok"] is False and "signed out" in ack["error"]
    assert count_messages() == 0


# --- hostile input ------------------------------------------------------------------

BAD_SENDS = [
    ({"client_id": "client-1", "body": ""}, "Write something"),
    ({"client_id": "client-1", "body": "   \n  "}, "Write something"),
    ({"client_id": "client-1", "body": "x" * 2001}, "at most 2,000"),
    ({"client_id": "client-1", "body": 42}, "must be text"),
    ({"client_id": "client-1", "body": ["a"]}, "must be text"),
    ({"client_id": "client-1", "body": None}, "must be text"),
    ({"client_id": "client-1", "body": "evil\u202egnp.exe"}, "control characters"),
    ({"client_id": "client-1", "body": "nul\x00byte"}, "control characters"),
    ({"client_id": "short", "body": "x"}, "valid id"),
    ({"client_id": "x" * 65, "body": "x"}, "valid id"),
    ({"client_id": "<script>1</script>", "body": "x"}, "valid id"),
    ({"client_id": 12345678, "body": "x"}, "valid id"),
    ({"body": "x"}, "valid id"),
]


@pytest.mark.parametrize(("data", "error"), BAD_SENDS)
def test_bad_send_gets_a_clear_error(app, client, lounge, data, error, socket):
    ack = socket().ack("send", {"room_id": lounge.id, **data})
    assert ack["ok"] is False and error in ack["error"] and ack["status"] == 400
    assert count_messages() == 0


@pytest.mark.parametrize("room_id", [None, "1", 1.5, True, -1, 0, 2**70, [1], {"a": 1}, 999])
def test_bad_room_id_is_not_found(app, client, lounge, room_id, socket):
    ack = socket().ack("join", {"room_id": room_id, "after_seq": 0})
    assert ack["ok"] is False and ack["status"] == 404


# "\u00b9" (superscript one) and "\u0663" (Arabic-Indic three) are digits to str.isdigit
# but not to int(): the fuzzer found "¹" as a 500 in history's before_seq.
@pytest.mark.parametrize("after", ["abc", -1, 1.5, True, 2**60, [], {}, "\u00b9", "\u0663"])
def test_bad_after_seq_is_refused(app, client, lounge, after, socket):
    ack = socket().ack("join", {"room_id": lounge.id, "after_seq": after})
    assert ack["ok"] is False and ack["status"] == 400
    ack = socket().ack("history", {"room_id": lounge.id, "before_seq": after})
    assert ack["ok"] is False and ack["status"] == 400


@pytest.mark.parametrize("payload", ["a string", 42, ["list"], None])
def test_payload_not_an_object(app, client, lounge, payload, socket):
    ack = socket().ack("send", payload)
    assert ack["ok"] is False and ack["status"] in (400, 404)


def test_an_unexpected_error_becomes_an_ack(app, client, lounge, monkeypatch, socket):
    def boom(*_a, **_k):
        raise RuntimeError("database fell over")

    monkeypatch.setattr(chat, "post_message", boom)
    ack = socket().ack("send", {"room_id": lounge.id, "client_id": "client-1", "body": "x"})
    assert (
        ack["ok"] is False and ack["status"] == 500 and "Nothing you sent was lost" in ack["error"]
    )


# --- rate limit ------------------------------------------------------------------


def test_flood_is_cut_with_a_clear_error(app, client, lounge, socket):
    sock = socket()
    acks = [
        sock.ack("send", {"room_id": lounge.id, "client_id": f"client-{i:03}", "body": "spam"})
        for i in range(8)
    ]
    assert [a["ok"] for a in acks] == [True] * 5 + [False] * 3  # a new account: 5 per 10 s
    assert "Too many tries" in acks[5]["error"] and acks[5]["retry_after"] >= 1
    assert count_messages() == 5


def test_members_at_trust_level_one_get_the_normal_limit(client, lounge, member, clock, socket):
    """The rate comes from moderation/trust.py: old enough AND five messages is level 1,
    for the name shown here (Amara's space name: 4 days in the space, 5 messages)."""
    season(member, lounge, posts=5, days=4)
    sock = socket()
    acks = [
        sock.ack("send", {"room_id": lounge.id, "client_id": f"client-{i:03}", "body": "x"})
        for i in range(11)
    ]
    assert [a["ok"] for a in acks] == [True] * 10 + [False]


# --- presence and typing ----------------------------------------------------------


def test_presence_counts_members_and_names_only_when_allowed(
    app, client, lounge, make_account, socket, person
):
    _bo, bo_client = person("Bodil", lounge.space)
    amara, bo = socket(), socket(bo_client)
    amara.ack("join", {"room_id": lounge.id, "after_seq": 0})
    ack = bo.ack("join", {"room_id": lounge.id, "after_seq": 0})
    assert ack["presence"] == {"room_id": lounge.id, "count": 2}
    assert amara.received("presence")[-1]["count"] == 2
    lounge.space.show_online_list = True
    db.session.commit()
    assert chat.presence(lounge.id)["names"] == ["Amara-here", "Bodil"]
    bo.disconnect()
    assert amara.received("presence")[-1]["count"] == 1


def test_stale_sockets_drop_out_of_presence(app, client, lounge, clock, socket):
    socket().ack("join", {"room_id": lounge.id, "after_seq": 0})
    assert chat.presence(lounge.id)["count"] == 1
    clock.advance(seconds=sockets.STALE.total_seconds() + 1)
    assert chat.presence(lounge.id)["count"] == 0
    assert sockets.purge_stale(clock.now()) == 1


def test_typing_only_where_enabled_and_rate_limited(client, lounge, make_account, socket, person):
    _bo, bo_client = person("Bodil", lounge.space)
    amara, bo = socket(), socket(bo_client)
    bo.ack("join", {"room_id": lounge.id, "after_seq": 0})
    assert amara.ack("typing", {"room_id": lounge.id})["ok"] is False
    lounge.space.typing_indicator = True
    db.session.commit()
    assert amara.ack("typing", {"room_id": lounge.id}) == {"ok": True}
    assert amara.ack("typing", {"room_id": lounge.id})["status"] == 429
    assert bo.received("typing") == [{"room_id": lounge.id, "name": "Amara-here"}]


def test_removed_event_reaches_the_room(app, client, lounge, member, clock, socket):
    sock = socket()
    sock.ack("join", {"room_id": lounge.id, "after_seq": 0})
    msg, _ = chat.post_message(member, lounge.id, "client-001", "short-lived")
    msg_id = msg.id
    sock.received()
    clock.advance(hours=25)
    expiry.delete_expired(clock.now())
    assert sock.received("removed") == [{"room_id": lounge.id, "ids": [msg_id], "seqs": [1]}]


# --- HTTP pages -----------------------------------------------------------------


def test_room_page_without_js_posts_and_redirects(client, lounge):
    page = client.get(f"/s/lounge/chat/{lounge.id}").get_data(as_text=True)
    client_id = re.search(r'name="client_id" value="([^"]+)"', page).group(1)
    for _ in range(2):  # a double submit stores once
        response = post(
            client, f"/s/lounge/chat/{lounge.id}", {"body": "plain *form*", "client_id": client_id}
        )
        assert response.status_code == 303
    page = client.get(f"/s/lounge/chat/{lounge.id}").get_data(as_text=True)
    assert "plain <em>form</em>" in page and "disappears in 23 hours" in page
    assert count_messages() == 1
    assert 'class="conn-state"' in page and "js/chat." in page


@pytest.mark.parametrize(("body", "status"), [("", 400), ("x" * 2001, 400), ("a\u202eb", 400)])
def test_room_page_bad_post_keeps_the_text(client, lounge, body, status):
    response = post(
        client, f"/s/lounge/chat/{lounge.id}", {"body": body, "client_id": "client-123"}
    )
    assert response.status_code == status
    assert 'class="flash flash-error"' in response.get_data(as_text=True)
    if body:
        assert body[:50] in response.get_data(as_text=True)
    assert count_messages() == 0


def test_room_post_without_csrf_is_refused(client, lounge):
    response = client.post(
        f"/s/lounge/chat/{lounge.id}", data={"body": "x", "client_id": "client-123"}
    )
    assert response.status_code == 400 and count_messages() == 0


def test_room_page_paginates_older_history(app, client, lounge, member, monkeypatch):
    monkeypatch.setattr(chat, "PAGE", 3)
    app.config["RB_LIMITS_ENABLED"] = False
    for i in range(7):
        chat.post_message(member, lounge.id, f"client-{i:03}", f"msg-{i}-x")
    page = client.get(f"/s/lounge/chat/{lounge.id}").get_data(as_text=True)
    assert re.findall(r"msg-(\d)-x", page) == ["4", "5", "6"]
    assert "before=5" in page
    older = client.get(f"/s/lounge/chat/{lounge.id}?before=5").get_data(as_text=True)
    assert re.findall(r"msg-(\d)-x", older) == ["1", "2", "3"]
    assert client.get(f"/s/lounge/chat/{lounge.id}?before=abc").status_code == 400


# --- room admin -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "allowed"), [("member", False), ("moderator", False), ("owner", True)]
)
def test_only_owners_manage_rooms(client, lounge, member, role, allowed):
    db.session.execute(sa.update(Membership).values(role=role))
    db.session.commit()
    page = client.get("/s/lounge/chat").get_data(as_text=True)
    assert ("Add a room" in page) is allowed
    responses = [
        post(client, "/s/lounge/chat/rooms", {"name": "Night shift"}),
        post(client, f"/s/lounge/chat/{lounge.id}/rename", {"name": "Day shift"}),
        post(client, f"/s/lounge/chat/{lounge.id}/archive", {}),
    ]
    assert [r.status_code for r in responses] == ([303] * 3 if allowed else [403] * 3)
    db.session.expire_all()
    assert (db.session.get(type(lounge), lounge.id).name == "Day shift") is allowed


@pytest.mark.parametrize("name", ["", " ", "x" * 61, "a\u200bb", "tab\x07"])
def test_bad_room_name_is_refused(client, lounge, name):
    db.session.execute(sa.update(Membership).values(role="owner"))
    db.session.commit()
    assert post(client, "/s/lounge/chat/rooms", {"name": name}).status_code == 400


def test_a_space_always_has_a_room(client, member):
    space = make_space(slug="fresh")
    add_member(space, member)
    db.session.execute(sa.delete(ChatRoom).where(ChatRoom.space_id == space.id))  # none yet
    db.session.commit()
    page = client.get("/s/fresh/chat").get_data(as_text=True)
    assert "General" in page


def test_a_quiet_socket_stays_signed_in_while_its_process_holds_it(
    app, client, member, lounge, clock, socket, person
):
    """The 1,000-client bench was told "You are signed out" (401): a client that sent no
    event for STALE had its row purged by the next client's connect. The process that
    holds the connection vouches for it now, and a connect purges nothing."""
    quiet = socket()
    assert quiet.ack("join", {"room_id": lounge.id, "after_seq": 0})["ok"] is True
    clock.advance(seconds=sockets.STALE.total_seconds() + 1)
    assert realtime.keep_alive_once() >= 1  # the server's round (every sockets.HEARTBEAT s)
    _bo, bo_client = person("Bodil", lounge.space)
    socket(bo_client).ack("join", {"room_id": lounge.id, "after_seq": 0})  # a later connect
    sent = quiet.ack(
        "send", {"room_id": lounge.id, "client_id": "quiet-0001", "body": "still here"}
    )
    assert sent["ok"] is True, sent
    assert chat.presence(lounge.id)["count"] == 2
    assert sockets.purge_stale(clock.now()) == 0


def test_a_socket_no_process_vouches_for_goes_after_stale(
    app, client, member, lounge, clock, socket
):
    socket().ack("join", {"room_id": lounge.id, "after_seq": 0})
    clock.advance(seconds=sockets.STALE.total_seconds() + 1)
    assert sockets.keep_alive([], clock.now()) == 0  # its process died: nobody touches it
    assert chat.presence(lounge.id)["count"] == 0
    assert sockets.purge_stale(clock.now()) == 1


def test_events_write_nothing_to_the_socket_registry(app, client, member, lounge, clock, socket):
    sock = socket()
    sock.ack("join", {"room_id": lounge.id, "after_seq": 0})
    before = db.session.scalar(sa.select(ChatSocket.seen_at))
    clock.advance(seconds=sockets.HEARTBEAT * 2)
    assert sock.ack("heartbeat", {}) == {"ok": True}
    db.session.expire_all()
    assert db.session.scalar(sa.select(ChatSocket.seen_at)) == before


def test_presence_is_coalesced_per_room_and_spares_the_joiner(
    app, client, member, lounge, socket, person, monkeypatch
):
    """At most one presence update per room per RB_PRESENCE_MS: joins in between are
    one update, and the last joiner (whose ack already shows it) does not get it."""
    app.config["RB_PRESENCE_MS"] = 1000
    scheduled = []
    monkeypatch.setattr(
        push.socketio, "start_background_task", lambda *args: scheduled.append(args)
    )
    amara = socket()
    amara.ack("join", {"room_id": lounge.id, "after_seq": 0})
    _bo, bo_client = person("Bodil", lounge.space)
    _cy, cy_client = person("Cyrus", lounge.space)
    bo, cy = socket(bo_client), socket(cy_client)
    bo.ack("join", {"room_id": lounge.id, "after_seq": 0})
    ack = cy.ack("join", {"room_id": lounge.id, "after_seq": 0})
    assert ack["presence"]["count"] == 3
    assert len(scheduled) == 1  # one timer for three joins
    assert amara.received("presence") == bo.received("presence") == []  # nothing yet
    assert push.flush_presence(lounge.id) is True
    assert [p["count"] for p in amara.received("presence")] == [3]
    assert [p["count"] for p in bo.received("presence")] == [3]
    assert cy.received("presence") == []  # its join ack said 3 already
    assert push.flush_presence(lounge.id) is False  # nothing pending: nothing sent
    bo.disconnect()
    assert len(scheduled) == 2
    assert push.flush_presence(lounge.id) is True
    assert [p["count"] for p in cy.received("presence")] == [2]  # a leave reaches everyone
    assert [p["count"] for p in amara.received("presence")] == [2]


@pytest.mark.sqlite_only("SQLite PRAGMA synchronous per connection")
def test_registry_writes_skip_the_fsync_and_the_pool_keeps_its_level(app, member, lounge):
    """Socket rows mean nothing after a crash (cleared at start): their commits do not wait
    for the disk. The connection goes back to the pool at the level it had, so the next
    write that asks nothing else (a post, an account) is synced as before."""

    def level() -> int:
        with db.engine.connect() as connection:
            return connection.exec_driver_sql("PRAGMA synchronous").scalar()

    before = level()
    assert before >= 2  # FULL or EXTRA: a commit waits for the disk
    with disk.unsynced(db.session):
        inside = db.session.connection().exec_driver_sql("PRAGMA synchronous").scalar()
        db.session.add(
            ChatSocket(
                sid="s" * 20, account_id=member.id, auth_session_id=1, seen_at=clock_module.now()
            )
        )
        db.session.commit()
    assert inside == 1  # NORMAL
    assert [level() for _ in range(4)] == [before] * 4
    make_message(lounge, member, "after the registry write")
    assert level() == before


@pytest.mark.sqlite_only("SQLite PRAGMA synchronous per connection")
def test_chat_message_commits_without_fsync_and_posts_keep_it(app, member, lounge, space):
    """A chat message's transaction runs at NORMAL (no fsync on the hub per message; an
    acked message still survives a killed process: tests/test_crash_consistency_live.py),
    a post's at the connection's level (FULL), and the pool gets its level back."""
    levels: list[tuple[str, int]] = []

    def record(connection, _cursor, statement, *_args) -> None:
        if statement.startswith("INSERT INTO chat_messages") or statement.startswith(
            "INSERT INTO posts"
        ):
            raw = connection.connection.dbapi_connection
            levels.append((statement.split()[2], raw.execute("PRAGMA synchronous").fetchone()[0]))

    def level() -> int:
        with db.engine.connect() as connection:
            return connection.exec_driver_sql("PRAGMA synchronous").scalar()

    before = level()
    assert before == 2
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        make_message(lounge, member, "no fsync for this one")
        make_post(make_thread(space), member, "synced as before")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert ("chat_messages", 1) in levels
    assert ("posts", 2) in levels and ("posts", 1) not in levels
    assert [level() for _ in range(4)] == [before] * 4


@pytest.mark.sqlite_only("SQLite PRAGMA synchronous")
def test_sqlite_synchronous_is_full_unless_configured(app, tmp_path, monkeypatch):
    """FULL: each commit of content other than chat messages is on disk before it is
    confirmed (power loss included). NORMAL is a documented choice (docs/REALTIME.md),
    anything else refuses to start."""
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    monkeypatch.setattr(disk, "synchronous", disk.synchronous)  # restored after the test
    other = create_app(base_config(tmp_path, RB_SQLITE_SYNCHRONOUS="normal"))
    with other.app_context():
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        db.engine.dispose()
    with pytest.raises(ConfigError):
        create_app(base_config(tmp_path, RB_SQLITE_SYNCHRONOUS="OFF"))
