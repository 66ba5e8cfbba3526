"""Live chat in real browsers: two phones in one room, a phone that goes offline,
flags that hide a message live, and nothing of the conversation left in storage.

Each test uses its own starter space (made by ``flask demo``, see the ``admin``
fixture), so their rooms' message numbers do not mix.
"""

from __future__ import annotations

import re
import secrets

import pytest

from tests.browser.flows import chat_message
from tests.browser.flows import chat_seqs
from tests.browser.flows import join_space
from tests.browser.flows import log_in
from tests.browser.flows import make_established
from tests.browser.flows import open_chat
from tests.browser.flows import send_chat
from tests.browser.flows import sign_up
from tests.browser.flows import storage_residue
from tests.browser.flows import submit
from tests.browser.flows import wait_live

pytestmark = pytest.mark.browser

EMPTY = {"localStorage": 0, "sessionStorage": 0, "indexedDB": [], "caches": [], "serviceWorkers": 0}


def member_in_room(new_context, slug: str):
    """A new member, signed up, joined to ``slug`` and live in its General room."""
    page = new_context().new_page()
    member = sign_up(page)
    join_space(page, slug)
    open_chat(page, slug)
    return member, page


def navigations(page) -> list[str]:
    """Record every main-frame navigation from now on: a live update must cause none."""
    seen: list[str] = []
    page.on(
        "framenavigated", lambda frame: seen.append(frame.url) if frame == page.main_frame else None
    )
    return seen


def test_two_phones_see_each_others_messages_live(new_context, admin):
    _alice, a = member_in_room(new_context, "online-workers")
    _bob, b = member_in_room(new_context, "online-workers")
    moved_a, moved_b = navigations(a), navigations(b)

    hello = f"hello from A {secrets.token_hex(3)}"
    send_chat(a, hello)
    chat_message(b, hello).wait_for()
    reply = f"hi back from B {secrets.token_hex(3)}"
    send_chat(b, reply)
    chat_message(a, reply).wait_for()

    assert moved_a == [] and moved_b == []  # live: neither page reloaded
    for page in (a, b):
        assert chat_seqs(page)[-2:] == sorted(chat_seqs(page)[-2:])
        assert len(set(chat_seqs(page))) == len(chat_seqs(page))
        assert page.locator("#chat-log li.chat-msg").all_inner_texts()[-2:][0].count(hello) == 1


def test_offline_phone_catches_up_in_order_once(new_context, admin):
    _alice, a = member_in_room(new_context, "know-your-rights")
    _bob, b = member_in_room(new_context, "know-your-rights")
    first = f"before the tunnel {secrets.token_hex(3)}"
    send_chat(a, first)
    chat_message(b, first).wait_for()
    before = chat_seqs(b)

    b.context.set_offline(True)
    b.wait_for_selector('#chat .conn-state:not([data-state="connected"])')
    token = secrets.token_hex(3)
    texts = [f"in the tunnel {token} #{i}" for i in range(1, 11)]
    for text in texts:
        send_chat(a, text)
    sent = chat_seqs(a)[-10:]
    assert sent == sorted(sent) and len(set(sent)) == 10
    b.wait_for_timeout(500)
    assert chat_seqs(b) == before  # positive control: offline really missed them

    b.context.set_offline(False)
    wait_live(b)
    chat_message(b, texts[-1]).wait_for(timeout=30_000)
    seqs = chat_seqs(b)
    assert seqs == before + sent, (before, sent, seqs)  # all ten, in order, each once
    shown = b.locator("#chat-log li.chat-msg .chat-msg-body").all_inner_texts()[-10:]
    assert shown == texts

    # After the whole session (reconnect and all), nothing of it is in the browser's storage.
    for page in (a, b):
        assert storage_residue(page) == EMPTY
        assert not [c for c in page.context.cookies() if token in c["value"]]


def flag_chat(page, message_id: str, reason: str = "Harassment or threats") -> None:
    """Flag a chat message through its flag form (the same route a Flag button leads to)."""
    page.goto(f"/flag/chat/{message_id}")
    page.get_by_label(reason).check()
    submit(page, "Send flag")


def test_flags_hide_a_message_live_and_the_review_is_logged(new_context, admin, server):
    slug = "safety-bad-dates"  # a starter space: the default flag threshold (3)
    author, watcher = member_in_room(new_context, slug)
    bad = f"buy followers cheap {secrets.token_hex(3)}"
    send_chat(watcher, bad)
    message = chat_message(watcher, bad)
    message_id = message.get_attribute("data-id")

    # Three established members (older than three days, five messages each: weight 100 each).
    flaggers = []
    for _ in range(3):
        member, page = member_in_room(new_context, slug)
        make_established(server, member.alias)
        for n in range(5):
            send_chat(page, f"{member.alias} says hello #{n}")
        flaggers.append(page)

    flag_chat(flaggers[0], message_id)
    flag_chat(flaggers[1], message_id)
    assert "Thank you" in flaggers[1].locator(".flash").inner_text()
    watcher.wait_for_timeout(300)
    assert message.count() == 1  # two flags are below the threshold: still there
    flag_chat(flaggers[2], message_id)
    assert "hidden for now" in flaggers[2].locator(".flash").inner_text()
    message.wait_for(state="detached")  # gone from the open page, live
    assert author.alias  # (the author's own page is the one watching)

    mod = new_context().new_page()
    log_in(mod, admin.alias, admin.passphrase)
    mod.goto(f"/s/{slug}/mod/queue")
    item = mod.locator("li.card", has_text=bad)
    assert item.count() == 1
    item.get_by_label("Reason (shown in the log)").fill("spam in the safety room")
    with mod.expect_navigation():
        item.get_by_role("button", name="Delete", exact=True).click()
    assert "moderation log" in mod.locator(".flash").inner_text()
    assert mod.locator("li.card", has_text=bad).count() == 0

    mod.goto(f"/s/{slug}/mod/log")
    entries = mod.locator("li.card")
    deleted = entries.filter(has_text="deleted").filter(has_text="spam in the safety room")
    assert deleted.count() == 1
    assert entries.filter(has_text="hidden after flags").count() >= 1
    watcher.reload()
    wait_live(watcher)
    assert chat_message(watcher, bad).count() == 0


def test_a_join_whose_answer_is_lost_is_asked_again(new_context, admin):
    """The server's answer to the room's "join" lost without a disconnect (dropped on
    the way, or by a process in trouble): chat.js asks again once ANSWER_WAIT_MS has
    passed, instead of staying connected and deaf to the room until the page reloads.
    The join asked for in the handshake is answered by "joined" before the connect
    packet; that answer is dropped first here, so the page, with none at "connect",
    asks by the "join" event at once (what it does with a server that does not join at
    connect)."""
    slug = "online-workers"
    page = new_context().new_page()
    sign_up(page)
    join_space(page, slug)
    sockets: list = []  # the space page before the room has a socket of its own
    joins: list[tuple[int, str]] = []  # (socket, ack id) of each "join" the page asks
    dropped: list[str] = []
    lost_joined: list[str] = []

    def route(ws) -> None:
        sockets.append(ws)
        number = len(sockets)
        server = ws.connect_to_server()

        def from_page(message) -> None:
            asked = (
                re.match(r'^42/chat,(\d+)\["join"', message) if isinstance(message, str) else None
            )
            if asked:
                joins.append((number, asked.group(1)))
            server.send(message)

        def from_server(message) -> None:
            if not lost_joined and isinstance(message, str):
                if message.startswith('42/chat,["joined",'):
                    lost_joined.append(message)
                    return
            if not dropped and joins and isinstance(message, str):
                if message.startswith(f"43/chat,{joins[0][1]}["):
                    dropped.append(message)  # the first join's answer never arrives
                    return
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    page.route_web_socket(re.compile(r"/socket\.io/"), route)
    page.clock.install()
    open_chat(page, slug, live=False)
    for _ in range(200):
        if dropped:
            break
        page.wait_for_timeout(50)
    assert lost_joined and '"ok":true' in lost_joined[0], lost_joined
    assert dropped and '"ok":true' in dropped[0], dropped
    state = page.locator("#chat .conn-state")
    page.wait_for_timeout(500)
    assert state.get_attribute("data-state") != "connected"  # connected, not in the room

    page.clock.fast_forward(21_000)  # past ANSWER_WAIT_MS: the join counts as lost
    page.clock.fast_forward(3_000)  # past the first retry's wait (RETRY_MS)
    wait_live(page)
    # Asked again on the same connection: no reconnect did it.
    assert len(joins) == 2 and joins[0][0] == joins[1][0] == len(sockets), (joins, len(sockets))
    said = f"heard after a lost answer {secrets.token_hex(3)}"
    send_chat(page, said)
    assert chat_seqs(page).count(int(chat_message(page, said).get_attribute("data-seq"))) == 1
