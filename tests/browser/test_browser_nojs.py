"""With JavaScript off (Tor Browser's "Safest" level), every core flow still works."""

from __future__ import annotations

import secrets

import pytest

from tests.browser.flows import is_signed_in
from tests.browser.flows import join_space
from tests.browser.flows import log_in
from tests.browser.flows import log_out
from tests.browser.flows import reply
from tests.browser.flows import sign_up
from tests.browser.flows import start_thread
from tests.browser.flows import submit

pytestmark = pytest.mark.browser


@pytest.fixture
def nojs_page(new_context):
    return new_context(java_script_enabled=False).new_page()


def test_sign_up_browse_log_out_log_in_and_quick_exit(nojs_page, origin, neutral_site):
    page = nojs_page
    member = sign_up(page)
    assert is_signed_in(page)

    page.goto("/")
    assert page.locator("h1").inner_text() == f"Hello, {member.alias}"
    page.goto("/account")
    assert page.locator("h1").inner_text() == "Your account"
    assert "6 unused recovery codes" in page.locator("#codes").inner_text()

    log_out(page)
    assert "logged out" in page.locator(".flash").inner_text()
    log_in(page, member.alias, member.passphrase)
    page.goto("/account")

    # Quick exit is a plain link: the server ends the session and redirects.
    with page.expect_navigation(url=neutral_site):
        page.locator(".quick-exit").click()
    assert page.title() == "Weather"
    assert {c["name"] for c in page.context.cookies(origin)} == {"rb_left"}

    # Without JavaScript the account page stays in the history, but Back fetches it
    # again (no-store), and for ten minutes after a quick exit that leads to the
    # neutral site again (forum/discreet.py).
    page.go_back()
    assert page.title() == "Weather", page.url
    assert "Your account" not in page.content() and member.alias not in page.content()
    # The way in is open: the log-in page, as a visitor.
    page.goto("/login")
    assert page.locator("h1").inner_text() == "Log in"
    assert not is_signed_in(page)


def test_delete_account_without_javascript(nojs_page):
    page = nojs_page
    member = sign_up(page)
    page.goto("/account")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.fill("#f-del-pass", member.passphrase)
    submit(page, "Delete my account")
    assert dialogs == []  # positive proof that JavaScript (confirm.js) was off
    assert "account is deleted" in page.locator(".flash").inner_text()
    assert not is_signed_in(page)


def test_read_a_thread_reply_and_flag_a_post_without_javascript(nojs_page, new_context, admin):
    token = secrets.token_hex(3)
    writer = new_context(java_script_enabled=False).new_page()
    sign_up(writer)
    join_space(writer, "newcomers")
    start_thread(writer, "newcomers", f"Quiet question {token}", f"Which bank is discreet? {token}")
    thread_path = "/t/" + writer.url.split("/t/")[1].split("#")[0].split("?")[0]

    page = nojs_page
    sign_up(page)
    join_space(page, "newcomers")  # a plain form post
    page.goto("/s/newcomers")
    with page.expect_navigation():
        page.get_by_role("link", name=f"Quiet question {token}").click()
    assert page.locator("article.post", has_text=f"Which bank is discreet? {token}").count() == 1
    reply(page, f"Ask in the rights space {token}")

    # Flag the writer's post: its Flag control if the page has one, else the same route.
    post = page.locator("article.post", has_text=f"Which bank is discreet? {token}")
    post_id = post.get_attribute("id").removeprefix("p")
    flag = post.get_by_role("link", name="Flag")
    if flag.count():
        with page.expect_navigation():
            flag.first.click()
    else:
        page.goto(f"/flag/post/{post_id}")
    page.get_by_label("Off-topic").check()
    submit(page, "Send flag")
    assert "Thank you" in page.locator(".flash").inner_text()
    page.goto(thread_path)
    assert (
        page.locator("article.post", has_text=f"Which bank is discreet? {token}").count() == 1
    )  # one flag hides nothing
