"""static/js/live.js in headless Chromium, with a stand-in for the socket.io client.

The stand-in records what the script asks for and lets the test play the server's
events; the checks are on the page: text nodes only, the right elements removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent

FAKE_IO = """
window.heard = {}; window.emitted = []; window.connections = [];
window.io = function (ns) {
  window.connections.push(ns);
  return {
    on: function (name, fn) { window.heard[name] = fn; },
    emit: function (name, data, ack) {
      window.emitted.push([name, data]);
      if (ack) { ack(window.nextAck || {ok: true, thread_id: data.thread_id}); }
    },
    disconnect: function () { window.disconnected = true; },
    io: {on: function () {}}
  };
};
"""

THREAD_PAGE = """<!doctype html><html><head>
<script src="/fake-io.js" defer></script><script src="/safety.js" defer></script><script src="/live.js" defer></script></head><body>
<main id="main">
<p class="meta" id="live-thread" hidden data-live-thread="7" data-thread-url="/t/7" data-space-url="/s/porch"></p>
<article class="post" id="p1" data-post-id="1"><p class="post-meta">A · now</p><div class="post-body">one</div></article>
<article class="post" id="p2" data-post-id="2"><p class="post-meta">B · now</p><div class="post-body">two</div></article>
<form id="reply" method="post" action="/t/7/reply"></form>
</main></body></html>"""

UPDATES_PAGE = """<!doctype html><html><head>
<script src="/fake-io.js" defer></script><script src="/safety.js" defer></script><script src="/live.js" defer></script></head><body>
<main id="main"><ul class="thread-list" data-live-updates data-live-max="2" data-thread-url="/t/0">
<li data-live-empty>Nothing new.</li></ul></main></body></html>"""

SPACE_PAGE = """<!doctype html><html><head>
<script src="/fake-io.js" defer></script><script src="/safety.js" defer></script><script src="/live.js" defer></script></head><body>
<main id="main"><h2>Threads</h2>
<ul class="thread-list" data-live-space="4" data-space-url="/s/porch"><li>Old one</li></ul>
</main></body></html>"""

CHAT_PAGE = """<!doctype html><html><head>
<script src="/fake-io.js" defer></script><script src="/safety.js" defer></script><script src="/live.js" defer></script></head><body>
<section id="chat" data-live="1"></section><ul data-live-updates data-thread-url="/t/0"></ul></body></html>"""


SAFETY_JS = (ROOT / "static/js/safety.js").read_text()


def load(tab, html: str) -> None:
    script = (ROOT / "static/js/live.js").read_text()

    def serve(route):
        url = route.request.url
        if url.endswith("/live.js"):
            return route.fulfill(body=script, content_type="text/javascript")
        if url.endswith("/safety.js"):  # loaded first on every signed-in page: rbT
            return route.fulfill(body=SAFETY_JS, content_type="text/javascript")
        if url.endswith("/fake-io.js"):
            return route.fulfill(body=FAKE_IO, content_type="text/javascript")
        return route.fulfill(body=html, content_type="text/html; charset=utf-8")

    tab.route("http://rb.test/**", serve)
    tab.goto("http://rb.test/t/7")
    tab.wait_for_function("() => window.connections !== undefined")


def fire(tab, name: str, data: object = None) -> None:
    tab.evaluate("([n, d]) => window.heard[n](d)", [name, data])


def test_thread_page_watches_and_applies_news(in_browser):
    def body(tab):
        load(tab, THREAD_PAGE)
        assert tab.evaluate("window.connections") == ["/chat"]
        fire(tab, "connect")
        assert tab.evaluate("window.emitted")[0] == ["watch_thread", {"thread_id": 7}]

        fire(tab, "new_reply", {"thread_id": 7, "post_id": 3, "page": 2})
        fire(tab, "new_reply", {"thread_id": 7, "post_id": 4, "page": 2})
        assert tab.inner_text("#live-thread") == "2 new replies — show"
        assert tab.get_attribute("#live-thread a", "href") == "/t/7?page=2#p4"

        fire(tab, "posts_removed", {"thread_id": 8, "post_ids": [1]})  # another thread: ignored
        fire(tab, "posts_removed", {"thread_id": 7, "post_ids": [1, "2 OR 1", None]})
        assert tab.locator("[data-post-id]").count() == 1 and tab.locator("#p2").count() == 1

        fire(tab, "post_changed", {"thread_id": 7, "post_id": 2})
        fire(tab, "post_changed", {"thread_id": 7, "post_id": 2})
        assert tab.inner_text("#p2 .post-meta") == "B · now · edited — reload to see the change"

        fire(tab, "thread_gone", {"thread_id": 7, "reason": "<img src=x onerror=alert(1)> gone"})
        assert tab.locator("article.post").count() == 0 and tab.locator("form").count() == 0
        assert (
            tab.inner_text("#live-thread") == "<img src=x onerror=alert(1)> gone Back to the space"
        )
        assert tab.locator("img").count() == 0
        assert tab.evaluate("window.disconnected") is True

    in_browser(body)


def test_refused_watch_says_gone(in_browser):
    def body(tab):
        load(tab, THREAD_PAGE)
        tab.evaluate(
            "window.nextAck = {ok: false, error: 'We could not find that page.', status: 404}"
        )
        fire(tab, "connect")
        assert "This thread is gone." in tab.inner_text("#live-thread")
        assert tab.locator("article.post").count() == 0

    in_browser(body)


def test_updates_list_inserts_text_and_stays_bounded(in_browser):
    def body(tab):
        load(tab, UPDATES_PAGE)
        fire(
            tab,
            "update",
            {"thread_id": 5, "title": "<b>Bold</b> & co", "space": "Porch", "new_posts": 1},
        )
        assert tab.locator("li[data-live-empty]").count() == 0
        assert tab.inner_text("li[data-thread-id='5'] a") == "<b>Bold</b> & co"
        assert tab.get_attribute("li[data-thread-id='5'] a", "href") == "/t/5"
        assert tab.locator("b").count() == 0
        fire(tab, "update", {"thread_id": 6, "title": "Six", "space": "Porch", "new_posts": 3})
        fire(
            tab,
            "update",
            {"thread_id": 5, "title": "<b>Bold</b> & co", "space": "Porch", "new_posts": 2},
        )
        assert tab.eval_on_selector_all(
            "li", "els => els.map(e => e.getAttribute('data-thread-id'))"
        ) == ["5", "6"]
        assert tab.inner_text("li[data-thread-id='5'] p") == "Porch · 2 new replies"
        fire(tab, "update", {"thread_id": 9, "title": "Nine", "space": "Porch", "new_posts": 1})
        assert tab.locator("li").count() == 2  # data-live-max
        fire(
            tab, "update", {"thread_id": "9", "title": 1, "space": None, "new_posts": -1}
        )  # junk: ignored
        assert tab.locator("li").count() == 2
        assert tab.evaluate("[localStorage.length, sessionStorage.length, document.cookie]") == [
            0,
            0,
            "",
        ]

    in_browser(body)


def test_chat_pages_leave_the_connection_to_chat_js(in_browser):
    def body(tab):
        load(tab, CHAT_PAGE)
        assert tab.evaluate("window.connections") == []

    in_browser(body)


def test_space_page_counts_new_threads(in_browser):
    def body(tab):
        load(tab, SPACE_PAGE)
        assert tab.evaluate("window.connections") == ["/chat"]
        fire(tab, "connect")
        assert tab.locator("[data-live-space-notice]").count() == 0
        fire(tab, "new_thread", {"space_id": 5, "thread_id": 9})  # another space: ignored
        fire(tab, "new_thread", {"space_id": 4, "thread_id": "9 OR 1"})  # junk: ignored
        assert tab.locator("[data-live-space-notice]").count() == 0
        fire(tab, "new_thread", {"space_id": 4, "thread_id": 9})
        assert tab.inner_text("[data-live-space-notice]") == "1 new thread — show"
        fire(tab, "new_thread", {"space_id": 4, "thread_id": 9})  # the same one again
        fire(tab, "new_thread", {"space_id": 4, "thread_id": 10})
        assert tab.inner_text("[data-live-space-notice]") == "2 new threads — show"
        assert tab.get_attribute("[data-live-space-notice] a", "href") == "/s/porch"
        assert tab.locator("[data-live-space-notice]").count() == 1
        assert tab.evaluate("window.emitted") == []  # no watch: the account's own room hears it

    in_browser(body)


# Two label blocks (the page's and safety's), one broken: safety.js reads them all once,
# for every script on the page; a broken block leaves the English words for its keys.
LABELLED_THREAD_PAGE = THREAD_PAGE.replace(
    '<main id="main">',
    """<main id="main"><div id="safety-alerts"></div>
<template class="rb-labels" data-labels='{"live.show": "ver"}'></template>
<template class="rb-labels" data-labels='{"live.reload": broken'></template>
<template class="rb-labels" data-labels='{"live.new_replies.other": "{n} respuestas nuevas"}'></template>""",
)


def test_words_come_from_every_label_block_through_the_shared_loader(in_browser):
    def body(tab):
        load(tab, LABELLED_THREAD_PAGE)
        assert tab.evaluate("typeof window.rbT") == "function"
        # safety.js ran first (it gives rbT) but its alerts waited for live.js: one connection.
        assert tab.evaluate("window.connections") == ["/chat"]
        assert tab.evaluate("typeof window.heard.checkin_alert") == "function"
        assert tab.evaluate("window.rbT('x.missing', 'Hello {who}', {who: 'you'})") == "Hello you"
        fire(tab, "connect")
        fire(tab, "new_reply", {"thread_id": 7, "post_id": 3, "page": 2})
        fire(tab, "new_reply", {"thread_id": 7, "post_id": 4, "page": 2})
        assert tab.inner_text("#live-thread") == "2 respuestas nuevas — ver"
        fire(tab, "post_changed", {"thread_id": 7, "post_id": 2})
        assert tab.inner_text("#p2 .post-meta").endswith("reload to see the change")  # broken

    in_browser(body)
