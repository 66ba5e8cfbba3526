"""A chat message leaves open pages at its expiry time, with no reload and no server push.

Owners choose chat retention in hours; to watch a message go, this module runs its
own server with the test-only ``RB_TEST_CHAT_RETENTION_SECONDS`` (honoured only when
``RB_ENV`` is not production; see forum/retention.py). The server's sweeper is off
(``RB_SWEEP_INTERVAL=0``), so only the pages' own timers can remove the message.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime

import pytest

from tests.browser.flows import chat_message
from tests.browser.flows import join_space
from tests.browser.flows import open_chat
from tests.browser.flows import run_demo
from tests.browser.flows import send_chat
from tests.browser.flows import serve
from tests.browser.flows import sign_up

pytestmark = pytest.mark.browser

SECONDS = 6


@pytest.fixture(scope="module")
def short_server(browser, neutral_site):
    with serve(neutral_site, RB_ENV="test", RB_TEST_CHAT_RETENTION_SECONDS=str(SECONDS)) as live:
        run_demo(live)  # the starter spaces
        yield live


@pytest.fixture
def origin(short_server) -> str:
    return short_server.url


def test_a_message_disappears_from_open_pages_at_its_time(new_context):
    pages = []
    for _ in range(2):
        page = new_context().new_page()
        sign_up(page)
        join_space(page, "newcomers")
        open_chat(page, "newcomers")
        pages.append(page)
    writer, reader = pages
    moved: list[str] = []
    reader.on(
        "framenavigated",
        lambda frame: moved.append(frame.url) if frame == reader.main_frame else None,
    )

    text = f"gone soon {secrets.token_hex(3)}"
    send_chat(writer, text)
    sent_at = time.time()
    chat_message(reader, text).wait_for()
    expires = chat_message(reader, text).get_attribute("data-expires")
    lifetime = datetime.fromisoformat(expires).timestamp() - sent_at
    assert 0 < lifetime <= SECONDS + 1, expires  # the test-only retention was applied

    for page in pages:
        chat_message(page, text).wait_for(state="detached", timeout=(SECONDS + 10) * 1000)
    assert time.time() >= sent_at + lifetime - 1  # removed at its time, not before
    assert moved == []  # by the page itself: no reload

    reader.reload()  # and the server no longer serves it either
    assert reader.locator("#chat-log").count() == 1
    assert chat_message(reader, text).count() == 0
