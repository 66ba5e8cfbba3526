"""Recovery codes in a real browser at phone size: "Copy all" puts every code on the
clipboard (Clipboard API, or the old copy command where there is none); without
JavaScript the codes are one read-only box and no dead button shows; the code asked back
is checked before the member goes on, and a wrong one shows the same codes again."""

from __future__ import annotations

import pytest

from tests.browser.flows import answer_codes
from tests.browser.flows import is_signed_in
from tests.browser.flows import read_codes
from tests.browser.flows import sign_up

pytestmark = pytest.mark.browser

CLIPBOARD = {"permissions": ["clipboard-read", "clipboard-write"]}


def box_text(codes: list[str]) -> str:
    return "".join(f"{i}. {code}\n" for i, code in enumerate(codes, 1))


def test_copy_all_puts_every_code_on_the_clipboard(new_context):
    page = new_context(**CLIPBOARD).new_page()
    member = sign_up(page, answer=False)
    button = page.get_by_role("button", name="Copy all", exact=True)
    assert button.is_visible()
    button.click()
    status = page.locator("#copy-codes-status")
    status.filter(has_text="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == box_text(member.codes)
    answer_codes(page, member.codes)
    assert page.url.endswith("/") and is_signed_in(page)


def test_copy_all_without_the_clipboard_api_uses_the_old_copy_command(new_context):
    context = new_context(**CLIPBOARD)
    page = context.new_page()
    member = sign_up(page, answer=False)
    # An old phone browser: no navigator.clipboard (set after the codes page loaded).
    page.evaluate("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    page.get_by_role("button", name="Copy all", exact=True).click()
    page.locator("#copy-codes-status").filter(has_text="Copied").wait_for()
    # The codes are left selected (to copy by hand if the command did nothing).
    selected = page.evaluate(
        "(() => { const b = document.getElementById('codes-all');"
        " return b.value.substring(b.selectionStart, b.selectionEnd); })()"
    )
    assert selected == box_text(member.codes).rstrip("\n")
    reader = context.new_page()  # a page whose clipboard API is intact reads it back
    reader.goto("/")
    assert reader.evaluate("navigator.clipboard.readText()").strip() == selected.strip()


def test_without_javascript_one_box_no_button_and_the_question_is_checked(new_context):
    page = new_context(java_script_enabled=False).new_page()
    member = sign_up(page, answer=False)
    box = page.locator("#codes-all")
    assert box.is_visible() and box.get_attribute("readonly") is not None
    assert read_codes(page) == member.codes and len(member.codes) == 6
    assert not page.get_by_role("button", name="Copy all").is_visible()
    # A wrong answer: a clear error, the same codes again.
    page.fill("#f-answer", "ABCD-EFGH-JKMN-PQRS")
    with page.expect_navigation():
        page.get_by_role("button", name="I have saved my codes: continue").click()
    assert "That is not code" in page.locator(".flash-error").inner_text()
    assert read_codes(page) == member.codes
    # Going elsewhere leads back to the step, which cannot show the same codes twice.
    page.goto("/spaces")
    assert page.url.endswith("/codes") and read_codes(page) == []
    assert page.locator("#f-passphrase").is_visible()  # new codes, with the passphrase


def test_the_right_code_typed_loosely_lets_her_go_on(page):
    member = sign_up(page, answer=False)
    asked = int(page.locator("input[name=ask]").get_attribute("value") or "0")
    page.fill("#f-answer", member.codes[asked - 1].lower().replace("-", " "))
    with page.expect_navigation():
        page.get_by_role("button", name="I have saved my codes: continue").click()
    assert page.url.endswith("/") and "Keep your codes safe" in page.locator(".flash").inner_text()
    page.goto("/spaces")
    assert page.url.endswith("/spaces")
