"""Spaces at phone size: join, write, edit; an organisation's closed space by invite,
invisible (404, exactly like a missing one) to everyone else."""

from __future__ import annotations

import secrets

import pytest

from tests.browser.flows import join_space
from tests.browser.flows import log_in
from tests.browser.flows import reply
from tests.browser.flows import sign_up
from tests.browser.flows import start_thread
from tests.browser.flows import submit

pytestmark = pytest.mark.browser


def test_join_newcomers_start_a_thread_reply_and_edit(page, admin):  # admin: demo made Newcomers
    sign_up(page)
    join_space(page, "newcomers")
    assert "Welcome! You are a member now." in page.locator(".flash").inner_text()
    token = secrets.token_hex(3)
    start_thread(page, "newcomers", f"First time here {token}", "Hello all, how do I start?")
    reply(page, f"Answering myself {token}")

    mine = page.locator("article.post", has_text=f"Answering myself {token}")
    assert mine.locator(".edited").count() == 0
    with page.expect_navigation():
        mine.get_by_role("link", name="Edit").click()
    page.fill("#f-body", f"Answering myself, better {token}")
    submit(page, "Save")

    edited = page.locator("article.post", has_text=f"Answering myself, better {token}")
    assert edited.count() == 1
    assert edited.locator(".edited").inner_text() == "edited"
    # The first post was not touched, and says so.
    assert page.locator("article.post").first.locator(".edited").count() == 0


def _not_found(page, path: str) -> str:
    """Visit ``path``; check it is a 404; return the page's main text for comparison."""
    response = page.goto(path)
    assert response is not None and response.status == 404, (path, response and response.status)
    return page.locator("main").inner_text()


def test_an_organisations_closed_space_by_single_use_invite(new_context, admin):
    token = secrets.token_hex(3)
    staff_page = new_context().new_page()
    staff = sign_up(staff_page)

    # The admin makes an organisation and adds the staff member.
    admin_page = new_context().new_page()
    log_in(admin_page, admin.alias, admin.passphrase)
    admin_page.goto("/orgs")
    admin_page.fill("#f-name", f"Clinic {token}")
    submit(admin_page, "Create organisation")
    admin_page.fill("#f-alias", staff.alias)
    submit(admin_page, "Add")
    assert "Added to staff." in admin_page.locator(".flash").inner_text()

    # The staff member finds it, creates a closed space under it and a single-use invite.
    staff_page.goto("/orgs")
    with staff_page.expect_navigation():
        staff_page.get_by_role("link", name=f"Clinic {token}").click()
    with staff_page.expect_navigation():
        staff_page.get_by_role("link", name="New closed or hidden space").click()
    slug = f"clinic-group-{token}"
    staff_page.fill("#f-name", f"Clinic group {token}")
    staff_page.fill("#f-slug", slug)
    staff_page.get_by_label("Closed:", exact=False).check()
    submit(staff_page, "Create space")
    staff_page.goto(f"/s/{slug}")
    assert "closed" in staff_page.locator("h1").inner_text()
    with staff_page.expect_navigation():
        staff_page.get_by_role("link", name="Invites").click()
    assert staff_page.input_value("#f-max_uses") == "1"
    submit(staff_page, "Make link")
    link = staff_page.locator("code.codes").inner_text().strip()
    assert "/invite/" in link
    start_thread(staff_page, slug, f"Clinic hours {token}", "We are open on Tuesdays.")
    thread_path = staff_page.url.removeprefix(staff_page.url.split("/t/")[0])
    staff_page.goto(f"/s/{slug}")
    room_path = staff_page.locator("#chat-rooms a").first.get_attribute("href")

    # Someone accepts it, choosing a name for this space only.
    guest_page = new_context().new_page()
    sign_up(guest_page)
    guest_page.goto(link)
    guest_page.fill("#f-space_alias", f"Rain{token}")
    submit(guest_page, "Join")
    assert f"You appear here as Rain{token}." in guest_page.content()
    guest_page.goto(thread_path)
    assert guest_page.locator("h1").inner_text().startswith(f"Clinic hours {token}")

    # A non-member sees nothing inside: its threads and its chat are "not found",
    # exactly like ones that do not exist. The space's own page is its closed door
    # (name, description, ask to join: forum/access.py), with nothing from inside.
    outsider = new_context().new_page()
    sign_up(outsider)
    missing = _not_found(outsider, f"/s/no-such-space-{token}")
    assert _not_found(outsider, thread_path) == _not_found(outsider, "/t/987654321")
    assert _not_found(outsider, room_path) == _not_found(
        outsider, f"/s/no-such-space-{token}/chat/1"
    )
    assert _not_found(outsider, f"/s/{slug}/chat") == missing
    assert _not_found(outsider, f"/s/{slug}/t/new") == _not_found(
        outsider, f"/s/no-such-space-{token}/t/new"
    )
    door = outsider.goto(f"/s/{slug}")
    assert door.status == 200 and f"Clinic group {token}" in outsider.locator("h1").inner_text()
    assert f"Clinic hours {token}" not in outsider.content()
    assert outsider.locator(f'a[href="{room_path}"], a[href="{thread_path}"]').count() == 0
    # The invite was for one person: used, it lets nobody else in.
    used = outsider.goto(link)
    assert used.status >= 400 and "Join" not in [
        b.strip() for b in outsider.locator("main button").all_inner_texts()
    ]
    outsider.goto(f"/s/{slug}")
    assert "You appear here as" not in outsider.content()
