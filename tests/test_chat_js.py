"""static/js/chat.js's message numbering in headless Chromium, with a stand-in server.

Live messages reach a page out of seq order when several server processes publish
(each its own commits), and a reconnect must resume after the highest seq below
which nothing is missing. The stand-in records every event the script emits and
keeps its ack callbacks, so the test plays the server's answers at the moment it
chooses; the checks are on the page (which messages are shown, once, in order) and
on what the script asks for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
ROOM = 3

FAKE_IO = """
window.heard = {}; window.emitted = []; window.acks = [];
window.io = function (ns, options) {
  window.ioOptions = options;
  var socket = {
    connected: false, active: true,
    on: function (name, fn) { window.heard[name] = fn; },
    emit: function (name, data, ack) {
      window.emitted.push([name, data]);
      window.acks.push(ack || null);
    },
    // socket.io's ack timeout: the ack gets (error) once ``ms`` pass unanswered, else
    // (null, answer); the test answers through window.acks as for a plain emit.
    timeout: function (ms) {
      return {emit: function (name, data, ack) {
        var done = false;
        var timer = window.setTimeout(function () {
          if (!done) { done = true; ack(new Error("operation has timed out")); }
        }, ms);
        socket.emit(name, data, function (answer) {
          if (done) { return; }
          done = true; window.clearTimeout(timer); ack(null, answer);
        });
      }};
    },
    disconnect: function () { socket.connected = false; },
    io: {on: function () {}}
  };
  window.fakeSocket = socket;
  return socket;
};
"""


def rendered(seq: int) -> str:
    return (
        f'<li class="chat-msg" id="m-{seq}" data-id="{100 + seq}" data-seq="{seq}" '
        f'data-expires="2999-01-01T00:00:00Z"><span class="chat-msg-body">m{seq}</span></li>'
    )


PAGE = f"""<!doctype html><html><head>
<script src="/fake-io.js" defer></script><script src="/safety.js" defer></script>
<script src="/expiry.js" defer></script>
<script src="/chat.js" defer></script></head><body>
<section class="chat" id="chat" data-room="{ROOM}" data-live="1" data-typing="0">
<span class="conn-state" hidden></span><span id="presence"></span>
<ol id="chat-log">{rendered(1)}{rendered(2)}</ol>
<p id="chat-typing"></p>
<form id="chat-form"><input type="hidden" name="csrf_token" value="t">
<textarea name="body"></textarea><button>Send</button></form>
</section></body></html>"""


def message(seq: int, **extra: object) -> dict:
    return {
        "id": 100 + seq,
        "room_id": ROOM,
        "seq": seq,
        "author": "Bodil",
        "html": f"m{seq}",
        "created_at": "2026-12-02T21:00:00Z",
        "expires_at": "2999-01-01T00:00:00Z",
        **extra,
    }


def load(tab, page: str = PAGE) -> None:
    scripts = {
        "/chat.js": (ROOT / "static/js/chat.js").read_text(),
        "/expiry.js": (ROOT / "static/js/expiry.js").read_text(),
        "/safety.js": (ROOT / "static/js/safety.js").read_text(),  # rbT, the words
        "/fake-io.js": FAKE_IO,
    }

    def serve(route):
        path = "/" + route.request.url.split("/", 3)[3]
        if path in scripts:
            return route.fulfill(body=scripts[path], content_type="text/javascript")
        return route.fulfill(body=page, content_type="text/html; charset=utf-8")

    tab.route("http://rb.test/**", serve)
    tab.goto("http://rb.test/s/porch/chat/3")
    tab.wait_for_function("() => window.fakeSocket !== undefined")


def fire(tab, name: str, data: object = None) -> None:
    tab.evaluate("([n, d]) => window.heard[n](d)", [name, data])


def connect(tab) -> None:
    tab.evaluate("window.fakeSocket.connected = true")
    fire(tab, "connect")


def auth(tab) -> dict:
    """What the handshake would carry now (socket.io calls ``auth`` at each connect)."""
    return tab.evaluate("() => new Promise(done => window.ioOptions.auth(done))")


def connect_joined(tab, ack: dict) -> None:
    """A server that joins at connect: its "joined" comes first (socket.io hands events
    that came before the connect packet over before "connect"), then "connect"."""
    fire(tab, "joined", ack)
    connect(tab)


def emitted(tab, name: str) -> list[tuple[int, dict]]:
    """(index, data) of every ``name`` event the script sent."""
    return [(i, d) for i, (n, d) in enumerate(tab.evaluate("window.emitted")) if n == name]


def answer(tab, index: int, ack: dict) -> None:
    tab.evaluate("([i, a]) => window.acks[i](a)", [index, ack])


def answer_join(tab, messages: list[dict], through: int, more: bool = False) -> dict:
    index, data = emitted(tab, "join")[-1]
    answer(tab, index, {"ok": True, "messages": messages, "through": through, "more": more})
    return data


def shown(tab) -> list[int]:
    return tab.eval_on_selector_all("#chat-log .chat-msg", "els => els.map(e => +e.dataset.seq)")


def wait_for_history(tab, count: int) -> list[tuple[int, dict]]:
    tab.wait_for_function(
        "n => window.emitted.filter(e => e[0] === 'history').length >= n", arg=count, timeout=5000
    )
    return emitted(tab, "history")


def test_a_gap_is_fetched_after_a_wait_and_the_resume_starts_below_it(in_browser):
    def body(tab):
        load(tab)
        connect(tab)
        assert answer_join(tab, [], through=2) == {"room_id": ROOM, "after_seq": 2}
        fire(tab, "message", message(4))  # 3 is still in flight on another process
        fire(tab, "message", message(6))
        fire(tab, "message", message(4))  # a repeat (a retry announced again)
        assert shown(tab) == [1, 2, 4, 6]
        assert emitted(tab, "history") == []  # not at once: 3 may still come live
        [(index, data)] = wait_for_history(tab, 1)
        assert data == {"room_id": ROOM, "after_seq": 2}
        # 3 exists; 5 and 7 are gone (hidden, expired); 4 comes again in the answer.
        answer(
            tab,
            index,
            {"ok": True, "messages": [message(3), message(4), message(6)], "through": 7},
        )
        assert shown(tab) == [1, 2, 3, 4, 6]
        tab.wait_for_timeout(2000)
        assert len(emitted(tab, "history")) == 1  # nothing left missing: no second ask
        # A reconnect resumes after 7, the highest seq with nothing missing below it.
        tab.evaluate("window.fakeSocket.connected = false")
        fire(tab, "disconnect", "transport close")
        connect(tab)
        assert answer_join(tab, [message(8)], through=8) == {"room_id": ROOM, "after_seq": 7}
        assert shown(tab) == [1, 2, 3, 4, 6, 8]

    in_browser(body)


def test_a_reconnect_during_a_gap_resumes_below_the_gap(in_browser):
    """The first loss cause: the old client resumed after the highest seq seen (6) and
    never got 3, still in flight when the connection dropped."""

    def body(tab):
        load(tab)
        connect(tab)
        answer_join(tab, [], through=2)
        fire(tab, "message", message(6))
        tab.evaluate("window.fakeSocket.connected = false")
        fire(tab, "disconnect", "transport close")
        connect(tab)
        assert answer_join(tab, [message(3), message(6)], through=6)["after_seq"] == 2
        assert shown(tab) == [1, 2, 3, 6]
        tab.wait_for_timeout(2000)
        assert emitted(tab, "history") == []  # the join's `through` settled 4 and 5

    in_browser(body)


def test_a_gap_that_fills_by_itself_is_not_fetched(in_browser):
    def body(tab):
        load(tab)
        connect(tab)
        answer_join(tab, [], through=2)
        fire(tab, "message", message(4))
        fire(tab, "message", message(3))  # the late one arrives within the wait
        tab.wait_for_timeout(2200)
        assert emitted(tab, "history") == []
        assert shown(tab) == [1, 2, 3, 4]
        tab.evaluate("window.fakeSocket.connected = false")
        fire(tab, "disconnect", "transport close")
        connect(tab)
        assert answer_join(tab, [], through=4)["after_seq"] == 4

    in_browser(body)


def test_a_long_gap_is_fetched_page_by_page_and_a_failed_answer_is_asked_again(in_browser):
    def body(tab):
        load(tab)
        connect(tab)
        answer_join(tab, [], through=2)
        fire(tab, "message", message(9))
        [(first, data)] = wait_for_history(tab, 1)
        assert data["after_seq"] == 2
        answer(tab, first, {"ok": False, "error": "Something went wrong", "status": 500})
        history = wait_for_history(tab, 2)  # asked again after another wait
        assert history[1][1]["after_seq"] == 2
        answer(
            tab, history[1][0], {"ok": True, "messages": [message(3)], "through": 4, "more": True}
        )
        history = emitted(tab, "history")  # `more`: the next page at once
        assert len(history) == 3 and history[2][1]["after_seq"] == 4
        answer(tab, history[2][0], {"ok": True, "messages": [message(8), message(9)], "through": 9})
        assert shown(tab) == [1, 2, 3, 8, 9]
        tab.wait_for_timeout(2000)
        assert len(emitted(tab, "history")) == 3

    in_browser(body)


def test_own_message_above_a_gap_is_shown_and_the_gap_below_it_fetched(in_browser):
    """The sender's ack carries its seq; messages before it that are still in flight are
    fetched like any other gap. Repeats of it (a retry announced again) are dropped."""

    def body(tab):
        load(tab)
        connect(tab)
        answer_join(tab, [], through=2)
        tab.fill("textarea[name=body]", "hello")
        tab.click("#chat-form button")
        [(index, data)] = emitted(tab, "send")
        assert data["body"] == "hello" and data["room_id"] == ROOM
        answer(tab, index, {"ok": True, "seq": 5, "message": message(5, html="hello")})
        fire(tab, "message", message(5, html="hello"))
        assert shown(tab) == [1, 2, 5]
        [(index, data)] = wait_for_history(tab, 1)
        assert data["after_seq"] == 2
        answer(tab, index, {"ok": True, "messages": [message(4)], "through": 5})
        assert shown(tab) == [1, 2, 4, 5]
        assert tab.evaluate("document.querySelectorAll('#m-5').length") == 1

    in_browser(body)


def test_a_server_error_is_sent_again_with_the_same_id(in_browser):
    """ "Nothing you sent was lost; please try again": the script does, with the same
    client id (stored once), after a wait, and stops once it is acknowledged."""

    def body(tab):
        load(tab)
        connect(tab)
        answer_join(tab, [], through=2)
        tab.fill("textarea[name=body]", "hello")
        tab.click("#chat-form button")
        [(index, first)] = emitted(tab, "send")
        answer(tab, index, {"ok": False, "error": "Something went wrong", "status": 500})
        assert tab.input_value("textarea[name=body]") == ""  # kept by the script, not handed back
        tab.wait_for_function(
            "() => window.emitted.filter(e => e[0] === 'send').length >= 2", timeout=5000
        )
        [_, (index, second)] = emitted(tab, "send")
        assert second == first
        answer(tab, index, {"ok": True, "seq": 3, "message": message(3, html="hello")})
        assert shown(tab) == [1, 2, 3]
        tab.wait_for_timeout(3000)
        assert len(emitted(tab, "send")) == 2

    in_browser(body)


def wait_for_joins(tab, count: int) -> list[tuple[int, dict]]:
    tab.wait_for_function(
        "n => window.emitted.filter(e => e[0] === 'join').length >= n", arg=count, timeout=8000
    )
    return emitted(tab, "join")


def test_a_failed_join_is_asked_again_until_it_succeeds(in_browser):
    """A join the server could not answer (its database busy: 500) left the socket
    connected but outside the room: no live message, no resume, until the next
    reconnect, which on a healthy connection never comes. The script asks again after
    a growing wait (2 s, then 4 s), resuming from the same place, and stops once in."""

    def body(tab):
        load(tab)
        connect(tab)
        failed = {"ok": False, "error": "Something went wrong", "status": 500}
        [(first, data)] = emitted(tab, "join")
        answer(tab, first, failed)
        tab.wait_for_timeout(1000)
        assert len(emitted(tab, "join")) == 1  # not at once: the server is struggling
        joins = wait_for_joins(tab, 2)
        assert joins[1][1] == data == {"room_id": ROOM, "after_seq": 2}
        answer(tab, joins[1][0], {**failed, "status": 429, "retry_after": 1})
        joins = wait_for_joins(tab, 3)
        answer(tab, joins[2][0], {"ok": True, "messages": [message(3)], "through": 3})
        assert shown(tab) == [1, 2, 3]
        fire(tab, "message", message(4))  # in the room now: live messages show
        assert shown(tab) == [1, 2, 3, 4]
        tab.wait_for_timeout(4500)
        assert len(emitted(tab, "join")) == 3  # no more asks once in

    in_browser(body)


def test_a_refused_join_is_not_asked_again(in_browser):
    """Not a member (403), or signed out (401): asking again changes nothing."""

    def body(tab):
        load(tab)
        connect(tab)
        [(first, _data)] = emitted(tab, "join")
        answer(tab, first, {"ok": False, "error": "Join this space first.", "status": 403})
        tab.wait_for_timeout(2500)
        assert len(emitted(tab, "join")) == 1
        assert "Join this space first." in tab.inner_text("#chat-typing")

    in_browser(body)


def test_a_slow_answer_is_waited_for_not_sent_again_on_the_same_connection(in_browser):
    """The server answers every event it gets, in turn. Copies sent every 10 s to a
    struggling server only lengthened its queue (each takes the room's seq lock too)
    until nothing was answered at all. A new connection sends it again (the old one's
    answer can no longer come)."""

    def body(tab):
        load(tab)
        connect(tab)
        answer_join(tab, [], through=2)
        tab.fill("textarea[name=body]", "hello")
        tab.click("#chat-form button")
        [(_index, first)] = emitted(tab, "send")
        tab.wait_for_timeout(11000)  # past ACK_WAIT_MS: still just the one
        assert len(emitted(tab, "send")) == 1
        tab.evaluate("window.fakeSocket.connected = false")
        fire(tab, "disconnect", "transport close")
        connect(tab)
        answer_join(tab, [], through=2)
        [_, (index, second)] = emitted(tab, "send")  # the join sent it again, same id
        assert second == first
        answer(tab, index, {"ok": True, "seq": 3, "message": message(3, html="hello")})
        assert shown(tab) == [1, 2, 3]

    in_browser(body)


def test_after_a_reconnect_pending_messages_are_resent_paced_and_in_order(in_browser):
    """A long absence leaves many unacknowledged messages: they go out again one at a
    time (a few a second, in the order written), not in one burst past the per-socket
    bucket; one refused as "too fast" (429) is kept and sent again later, not handed back."""
    count = 12

    def body(tab):
        load(tab)
        connect(tab)
        answer_join(tab, [], through=2)
        for n in range(count):
            tab.fill("textarea[name=body]", f"pending {n}")
            tab.click("#chat-form button")
        first = [d for _, d in emitted(tab, "send")]
        assert [d["body"] for d in first] == [f"pending {n}" for n in range(count)]

        tab.evaluate("window.fakeSocket.connected = false")
        fire(tab, "disconnect", "transport close")
        connect(tab)
        answer_join(tab, [], through=2)
        started = tab.evaluate("performance.now()")
        resent = lambda: emitted(tab, "send")[count:]  # noqa: E731
        assert len(resent()) <= 1  # not all at once
        tab.wait_for_function(
            "n => window.emitted.filter(e => e[0] === 'send').length >= n",
            arg=2 * count,
            timeout=10_000,
        )
        took = tab.evaluate("performance.now()") - started
        assert took >= (count - 1) * 250 * 0.9, took  # paced: 4 a second
        again = [d for _, d in resent()]
        assert [d["client_id"] for d in again] == [d["client_id"] for d in first]  # in order

        # The server says "too fast" to one: it stays ours, is sent again, the box stays empty.
        index, refused = resent()[0]
        answer(tab, index, {"ok": False, "error": "You are sending too fast.", "status": 429})
        assert tab.input_value("textarea[name=body]") == ""
        tab.wait_for_function(
            "id => window.emitted.filter(e => e[0] === 'send' && e[1].client_id === id)"
            ".length >= 3",
            arg=refused["client_id"],
            timeout=10_000,
        )

    in_browser(body)


def test_a_removed_message_arriving_late_stays_off_the_screen(in_browser):
    """Across processes a "removed" (a moderator's, on one process) can overtake the
    "message" it removes (the sender's process publishes after its commit): the late
    copy must not put a hidden message back. The removed seq also settles its gap."""

    def body(tab):
        load(tab)
        connect(tab)
        answer_join(tab, [], through=2)
        fire(tab, "removed", {"room_id": ROOM, "ids": [104], "seqs": [4]})
        fire(tab, "message", message(3))
        fire(tab, "message", message(4))  # the late copy of the removed one
        fire(tab, "message", message(5))
        assert shown(tab) == [1, 2, 3, 5]
        fire(tab, "removed", {"room_id": ROOM, "ids": [102], "seqs": [2]})
        fire(tab, "message", message(2))  # a repeat of a shown-then-removed one
        assert shown(tab) == [1, 3, 5]
        tab.wait_for_timeout(2000)
        assert emitted(tab, "history") == []  # 4 is settled (gone): no gap to fetch
        # A history answer made before a removal reached us is not trusted over it...
        tab.evaluate("window.fakeSocket.connected = false")
        fire(tab, "disconnect", "transport close")
        connect(tab)
        assert answer_join(tab, [message(4)], through=5)["after_seq"] == 5
        assert shown(tab) == [1, 3, 5]
        # ...but a moderator keeping it (the server marks it restored) brings it back.
        fire(tab, "message", message(4, restored=True))
        assert shown(tab) == [1, 3, 4, 5]

    in_browser(body)


def test_a_removed_seq_for_another_room_changes_nothing(in_browser):
    def body(tab):
        load(tab)
        connect(tab)
        answer_join(tab, [], through=2)
        fire(tab, "removed", {"room_id": ROOM + 1, "ids": [103], "seqs": [3]})
        fire(tab, "message", message(3))
        assert shown(tab) == [1, 2, 3]

    in_browser(body)


def test_an_erased_authors_name_shows_in_the_readers_words(in_browser):
    # A broadcast is made once for the whole room, so a message a moderator kept after
    # its author was erased arrives with the stored English placeholder; each page shows
    # it in its own language (forum/jslabels.py), and leaves a real alias alone.
    spanish = PAGE.replace(
        "</section>",
        """<template class="rb-labels" data-labels='{"chat.deleted_name": "[borrado]"}'>"""
        "</template></section>",
    )

    def body(tab):
        load(tab, spanish)
        connect(tab)
        answer_join(tab, [], through=2)
        fire(tab, "message", message(3, author="[deleted]", restored=True))
        fire(tab, "message", message(4))
        authors = tab.eval_on_selector_all(
            "#chat-log .chat-msg .chat-msg-author", "els => els.map(e => e.textContent)"
        )
        assert shown(tab) == [1, 2, 3, 4]
        assert authors == ["[borrado]", "Bodil"]

    in_browser(body)


def test_the_room_is_asked_for_in_the_handshake_and_joined_is_its_answer(in_browser):
    """Each (re)connect asks for the room in its handshake, resuming after what the page
    shows by then; the server's "joined" is the join's answer, so no "join" event."""

    def body(tab):
        load(tab)
        assert auth(tab) == {"room_id": ROOM, "after_seq": 2}
        connect_joined(tab, {"ok": True, "messages": [message(3)], "through": 3, "more": False})
        assert shown(tab) == [1, 2, 3]
        fire(tab, "message", message(4))  # in the room: live messages show
        assert shown(tab) == [1, 2, 3, 4]
        tab.evaluate("window.fakeSocket.connected = false")
        fire(tab, "disconnect", "transport close")
        assert auth(tab) == {"room_id": ROOM, "after_seq": 4}
        connect_joined(tab, {"ok": True, "messages": [message(5)], "through": 5, "more": False})
        assert shown(tab) == [1, 2, 3, 4, 5]
        tab.wait_for_timeout(500)
        assert emitted(tab, "join") == []

    in_browser(body)


def test_a_join_at_connect_that_failed_or_says_more_is_followed_by_the_join_event(in_browser):
    """A "joined" that could not be answered (500) is asked again by the "join" event
    after the growing wait, as a failed "join"; one that says ``more`` asks the next batch
    at once; a refusal (403) stands."""

    def body(tab):
        load(tab)
        connect_joined(tab, {"ok": False, "error": "Something went wrong", "status": 500})
        tab.wait_for_timeout(1000)
        assert emitted(tab, "join") == []  # not at once: the server is struggling
        [(index, data)] = wait_for_joins(tab, 1)
        assert data == {"room_id": ROOM, "after_seq": 2}
        answer(tab, index, {"ok": True, "messages": [message(3)], "through": 3})
        assert shown(tab) == [1, 2, 3]
        tab.evaluate("window.fakeSocket.connected = false")
        fire(tab, "disconnect", "transport close")
        more = {"ok": True, "messages": [message(4)], "through": 4, "more": True}
        connect_joined(tab, more)
        [_first, (index, data)] = emitted(tab, "join")
        assert data == {"room_id": ROOM, "after_seq": 4}
        tab.evaluate("window.fakeSocket.connected = false")
        fire(tab, "disconnect", "transport close")
        connect_joined(tab, {"ok": False, "error": "Join this space first.", "status": 403})
        tab.wait_for_timeout(2500)
        assert len(emitted(tab, "join")) == 2
        assert "Join this space first." in tab.inner_text("#chat-typing")

    in_browser(body)
