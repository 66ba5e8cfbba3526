"""Moderation over HTTP: the end-to-end story, a permission matrix, hostile input."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from forum import signals
from forum.extensions import db
from forum.models import Account
from moderation import notices
from moderation.models import Appeal
from moderation.models import Flag
from moderation.models import ModAction
from moderation.models import WatchWord
from realtime.models import ChatMessage
from tests.factories import add_member
from tests.factories import make_message
from tests.factories import make_post
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread
from tests.factories import season
from tests.support import post
from tests.support import signed_in


def test_end_to_end_flag_hide_delete_log_appeal(app, make_account, clock):
    space = make_space("closed", slug="den")
    mod1, mod2, author = make_account("Mina"), make_account("Rosa"), make_account("Fred")
    add_member(space, mod1, "moderator")
    add_member(space, mod2, "moderator")
    add_member(space, author)
    thread = make_thread(space, mod1)
    flaggers = [make_account(a) for a in ("Ana", "Bea", "Cai")]
    for f in flaggers:
        add_member(space, f)
        season(f, thread)
    room = make_room(space)
    message = make_message(room, author, "I will find out where you live, slag")
    message_id = message.id
    hidden = []
    receiver = lambda sender, **kw: hidden.append((sender, kw))  # noqa: E731
    signals.content_hidden.connect(receiver)
    try:
        for f in flaggers:
            response = post(
                signed_in(app, f.alias), f"/flag/chat/{message.id}", {"reason": "harassment"}
            )
            assert response.status_code == 303
            if f.alias == "Ana":  # a second flag says so plainly
                again = post(signed_in(app, "Ana"), f"/flag/chat/{message.id}", {"reason": "hate"})
                assert again.status_code == 409 and "already flagged" in again.get_data(
                    as_text=True
                )
    finally:
        signals.content_hidden.disconnect(receiver)
    db.session.expire_all()
    assert db.session.get(ChatMessage, message.id).hidden_at is not None
    assert hidden == [
        (
            space.id,
            {
                "kind": "chat",
                "id": message.id,
                "thread_id": None,
                "room_id": room.id,
                "seq": message.seq,
            },
        )
    ]
    # Once hidden, members no longer see it: flagging it again is "not found".
    assert (
        post(signed_in(app, "Bea"), f"/flag/chat/{message.id}", {"reason": "hate"}).status_code
        == 404
    )

    moderator = signed_in(app, "Mina")
    queue = moderator.get("/s/den/mod/queue").get_data(as_text=True)
    assert "where you live" in queue and "Harassment or threats" in queue
    response = post(
        moderator,
        "/s/den/mod/act",
        {"action": "delete", "kind": "chat", "id": str(message.id), "reason": "threats"},
        base_url="http://localhost",
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(sa.select(ChatMessage).where(ChatMessage.id == message_id)) is None

    log = signed_in(app, "Bea").get("/s/den/mod/log").get_data(as_text=True)
    assert "deleted" in log and "threats" in log and "Fred" in log and "Mina" not in log

    fred = signed_in(app, "Fred")
    notices = fred.get("/notices").get_data(as_text=True)
    assert "deleted your chat message" in notices
    action = db.session.scalar(sa.select(ModAction).where(ModAction.action == "delete"))
    assert (
        post(fred, f"/s/den/mod/appeal/{action.id}", {"text": "It was a quote."}).status_code == 303
    )
    appeal = db.session.scalar(sa.select(Appeal))
    # The moderator who acted may not decide; a different one does.
    assert (
        post(
            moderator,
            f"/s/den/mod/appeals/{appeal.id}/decide",
            {"outcome": "overturn", "reason": "x"},
        ).status_code
        == 403
    )
    rosa = signed_in(app, "Rosa")
    assert "It was a quote." in rosa.get("/s/den/mod/appeals").get_data(as_text=True)
    assert (
        post(
            rosa,
            f"/s/den/mod/appeals/{appeal.id}/decide",
            {"outcome": "uphold", "reason": "threats are never ok"},
        ).status_code
        == 303
    )
    assert "The decision stays." in fred.get("/notices").get_data(as_text=True)  # was "upheld"
    assert "appeal refused: the decision stays" in signed_in(app, "Cai").get(
        "/s/den/mod/log"
    ).get_data(as_text=True)


# --- Permission matrix -----------------------------------------------------------

PERSONAS = ("visitor", "nonmember", "member", "moderator", "owner", "admin")


@pytest.fixture
def matrix(app, make_account):
    accounts = {
        "nonmember": make_account("Nina"),
        "member": make_account("Memo"),
        "moderator": make_account("Modi"),
        "owner": make_account("Owen"),
        "admin": make_account("Adam", admin=True),
    }
    spaces = {
        kind: make_space(kind, owner=accounts["owner"], slug=f"m-{kind}")
        for kind in ("open", "closed", "hidden")
    }
    for space in spaces.values():
        add_member(space, accounts["member"])
        add_member(space, accounts["moderator"], "moderator")
    clients = {"visitor": app.test_client()}
    for name, account in accounts.items():
        clients[name] = signed_in(app, account.alias)
    return spaces, clients


MOD_GETS = ("queue", "words", "appeals")
EXPECT_MOD = {"visitor": 302, "member": 403, "moderator": 200, "owner": 200, "admin": 200}


@pytest.mark.parametrize("kind", ["open", "closed", "hidden"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_permission_matrix(matrix, kind, persona):
    _spaces, clients = matrix
    client = clients[persona]
    slug = f"m-{kind}"
    nonmember = 404 if kind != "open" else None
    for route in MOD_GETS:
        expected = EXPECT_MOD.get(persona, nonmember or 403)
        assert client.get(f"/s/{slug}/mod/{route}").status_code == expected, route
    log_expected = {"visitor": 302}.get(
        persona, nonmember if persona == "nonmember" and nonmember else 200
    )
    assert client.get(f"/s/{slug}/mod/log").status_code == log_expected
    if persona == "visitor":
        assert client.post(f"/s/{slug}/mod/act", data={}).status_code in (302, 400)
        return
    act = post(
        client,
        f"/s/{slug}/mod/act",
        {"action": "keep", "kind": "post", "id": "999999"},
        base_url="http://localhost",
    )
    assert act.status_code == {"member": 403, "nonmember": nonmember or 403}.get(persona, 404)
    words = post(client, f"/s/{slug}/mod/words", {"pattern": "badword", "action": "flag"})
    assert words.status_code == {"member": 403, "nonmember": nonmember or 403}.get(persona, 303)
    decide = post(
        client, f"/s/{slug}/mod/appeals/99999/decide", {"outcome": "uphold", "reason": "x"}
    )
    assert decide.status_code == {"member": 403, "nonmember": nonmember or 403}.get(persona, 404)


def test_personal_pages_need_sign_in(app):
    client = app.test_client()
    for path in ("/notices", "/account/blocks", "/flag/post/1"):
        assert client.get(path).status_code == 302


# --- Hostile input -----------------------------------------------------------------


@pytest.fixture
def den(app, make_account):
    space = make_space(slug="den")
    mod, author, reader = make_account("Mina"), make_account("Fred"), make_account("Ana")
    add_member(space, mod, "moderator")
    add_member(space, author, space_alias="FredInDen")
    add_member(space, reader)
    thread = make_thread(space, mod)
    target = make_post(thread, author, "original words")
    return space, target


@pytest.mark.parametrize(
    "form",
    [
        {"action": "hide", "kind": "post", "id": "abc"},
        {"action": "hide", "kind": "post", "id": "-1"},
        {"action": "hide", "kind": "post", "id": "1e9"},
        {"action": "hide", "kind": "post", "id": "9" * 40},
        {"action": "hide", "kind": "<script>", "id": "1"},
        {"action": "hide", "kind": "post"},
        {"action": "explode", "kind": "post", "id": "1"},
        {"action": "hide", "kind": "post", "id": "{id}", "reason": "x" * 301},
        {"action": "mute", "kind": "post", "id": "{id}", "hours": "9999"},
        {"action": "mute", "kind": "post", "id": "{id}", "hours": "<b>"},
        {"action": "redact", "kind": "post", "id": "{id}", "text": ""},
        {"action": "redact", "kind": "post", "id": "{id}", "text": "y" * 20001},
        {"action": "suspend", "kind": "post", "id": "{id}", "days": "7"},
    ],
)
def test_hostile_moderator_forms(app, den, form):
    _space, target = den
    form = {k: v.replace("{id}", str(target.id)) for k, v in form.items()}
    response = post(signed_in(app, "Mina"), "/s/den/mod/act", form)
    assert 400 <= response.status_code < 500
    db.session.expire_all()
    assert target.body == "original words" and target.hidden_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ModAction)) == 0


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"reason": "other"},
        {"reason": "other", "note": "n" * 201},
        {"reason": "bogus"},
        {"reason": "other", "note": "\u202e\u200b"},
    ],
)
def test_hostile_flag_forms(app, den, form):
    _space, target = den
    response = post(signed_in(app, "Ana"), f"/flag/post/{target.id}", form)
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Flag)) == 0


def test_missing_csrf_is_refused(app, den):
    _space, target = den
    client = signed_in(app, "Ana")
    assert client.post(f"/flag/post/{target.id}", data={"reason": "spam"}).status_code == 400
    assert client.post(f"/block/post/{target.id}").status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Flag)) == 0


def test_hostile_watch_words_and_appeals(app, den):
    _space, _target = den
    mod = signed_in(app, "Mina")
    for pattern in ("", "(a+)+$", "x" * 200, "<script>"):
        assert (
            post(mod, "/s/den/mod/words", {"pattern": pattern, "action": "block"}).status_code
            == 400
            or pattern == "<script>"
        )
    assert post(mod, "/s/den/mod/words", {"pattern": "ok", "action": "<b>"}).status_code == 400
    page = mod.get("/s/den/mod/words").get_data(as_text=True)
    assert "<script>" not in page  # stored as the word "script", shown escaped
    assert db.session.scalar(sa.select(WatchWord.pattern)) == "script"
    assert post(signed_in(app, "Fred"), "/s/den/mod/appeal/999", {"text": "x"}).status_code == 404


def test_block_from_a_post_and_undo(app, den):
    _space, target = den
    client = signed_in(app, "Ana")
    assert post(client, f"/block/post/{target.id}").status_code == 303
    page = client.get("/account/blocks").get_data(as_text=True)
    assert (
        "FredInDen" in page
        and str(target.author_id) not in page.split("<main")[1].split("/undo")[0][-5:]
    )
    block_id = int(page.split("/account/blocks/")[1].split("/undo")[0])
    assert post(signed_in(app, "Fred"), f"/account/blocks/{block_id}/undo").status_code == 404
    assert post(client, f"/account/blocks/{block_id}/undo").status_code == 303
    assert "FredInDen" not in client.get("/account/blocks").get_data(as_text=True)


def test_notices_link_in_nav(app, den):
    assert 'href="/notices"' in signed_in(app, "Ana").get("/").get_data(as_text=True)
    assert 'href="/notices"' not in app.test_client().get("/").get_data(as_text=True)


def test_the_nav_counts_new_notices_until_they_are_seen(app, den):
    ana = db.session.scalar(sa.select(Account).where(Account.alias == "Ana"))
    for words in ("one", "two"):
        notices.notify(ana.id, "removed", {"space": den[0].id, "reason": words})
    db.session.commit()
    client = signed_in(app, "Ana")
    nav = client.get("/").get_data(as_text=True).split("</nav>")[0]
    assert '<span class="badge">2<span class="visually-hidden"> new notices</span></span>' in nav
    page = client.get("/notices").get_data(as_text=True)
    assert page.count('<span class="badge">new</span>') == 2  # marked on the page they show on
    assert 'visually-hidden"> new notice' not in page.split("</nav>")[0]  # seen: no count
    assert "new notice" not in client.get("/").get_data(as_text=True)
    assert '<span class="badge">new</span>' not in client.get("/notices").get_data(as_text=True)


def test_flagging_a_chat_message_returns_to_the_room(app, den):
    space, _target = den
    room = make_room(space)
    fred = db.session.scalar(sa.select(Account).where(Account.alias == "Fred"))
    message = make_message(room, fred, "buy my stuff")
    response = post(signed_in(app, "Ana"), f"/flag/chat/{message.id}", {"reason": "spam"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/s/{space.id}/chat/{room.id}#chat")
