"""Recovery codes (issue 15): six codes of four groups of four letters, one asked back
before the new member may go on, typed loosely; the old twelve-character codes still work;
hostile input is a clear 4xx. Everything through HTTP with CSRF on."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from forum import recovery
from forum.extensions import db
from forum.models import Account
from forum.models import RecoveryCode
from tests.support import ASKED
from tests.support import PASSPHRASE
from tests.support import confirm_codes
from tests.support import count_rows
from tests.support import csrf_token
from tests.support import post
from tests.support import shown_codes

NEW = "a brand new long passphrase"
ERROR = re.compile(r'role="alert">([^<]*)')


@pytest.fixture
def app_config() -> dict:
    return {"RB_LIMIT_RECOVER": "1000 per hour", "RB_LIMIT_SIGNUP": "1000 per hour"}


def signup(client, alias="Nadia"):
    page = post(
        client, "/signup", {"alias": alias, "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE}
    )
    assert page.status_code == 200
    return page.get_data(as_text=True)


def answer(client, html: str, typed: str, **extra):
    codes = shown_codes(html)
    form = {"code": codes, "ask": ASKED.search(html).group(1), "fresh": "1", "answer": typed}
    form.update(extra)
    return post(client, "/codes", form)


def asked(html: str) -> tuple[int, str]:
    n = int(ASKED.search(html).group(1))
    return n, shown_codes(html)[n - 1]


def test_six_codes_of_four_groups_of_four_plain_letters(client):
    codes = shown_codes(signup(client))
    assert len(codes) == 6 and len(set(codes)) == 6
    for code in codes:
        assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}-[A-Z]{4}-[A-Z]{4}", code), code
        assert not set(code) & set("0O1IL"), code
    # The strength docs/SECURITY.md states, from the constants the codes are made with.
    bits = recovery.GROUPS * recovery.GROUP_LEN * math.log2(len(recovery.ALPHABET))
    assert bits > 71
    security = (Path(__file__).resolve().parent.parent / "docs" / "SECURITY.md").read_text()
    assert f"{len(recovery.ALPHABET)}^16" in security and "71.3 bits" in security
    assert recovery.CODE_COUNT == 6 and "Six codes" in security


def test_sign_up_cannot_go_on_without_the_code_asked_back(client):
    html = signup(client)
    codes = shown_codes(html)
    n, right = asked(html)
    assert f"type code number {n} here" in html
    # Every page leads back to the codes step, and it cannot show the codes again.
    for path in ("/", "/spaces", "/account", "/search?q=x", "/updates"):
        answer_ = client.get(path)
        assert answer_.status_code == 303 and answer_.headers["Location"] == "/codes", path
    # Without the CSRF token: refused, and still held.
    form = {"code": codes, "ask": str(n), "answer": right}
    assert client.post("/codes", data=form).status_code == 400
    assert client.get("/").status_code == 303
    # A wrong answer, and another code than the one asked: a clear error, the same codes
    # shown again, the same question; nothing lost.
    wrong_codes = [c for c in codes if c != right]
    for typed in ("ABCD-EFGH-JKMN-PQRS", wrong_codes[0], ""):
        wrong = answer(client, html, typed)
        again = wrong.get_data(as_text=True)
        assert wrong.status_code == 400, typed
        assert ERROR.search(again) and f"code {n}" in ERROR.search(again).group(1)
        assert shown_codes(again) == codes and asked(again) == (n, right)
        assert client.get("/").status_code == 303
    # Typed loosely: small letters, spaces for dashes.
    done = answer(client, html, "  " + right.lower().replace("-", " ") + " ")
    assert done.status_code == 303 and done.headers["Location"] == "/"
    assert client.get("/").status_code == 200 and client.get("/account").status_code == 200
    assert db.session.scalar(sa.select(Account.codes_confirmed)) is True
    assert count_rows(RecoveryCode) == 6  # asking one back spends nothing


def test_codes_that_are_not_the_accounts_are_never_shown_back(client, make_account):
    html = signup(client)
    n, right = asked(html)
    forged = answer(client, html, right, code=["ABCD-EFGH-JKMN-PQRS", *shown_codes(html)[1:]])
    page = forged.get_data(as_text=True)
    assert forged.status_code == 400 and "ABCD-EFGH-JKMN-PQRS" not in page
    assert shown_codes(page) == [] and "make new codes" in page.lower()
    assert client.get("/").status_code == 303


def test_leaving_the_step_makes_new_codes_with_the_passphrase(client):
    first = signup(client)
    assert client.get("/spaces").status_code == 303  # the member wandered off
    held = client.get("/codes").get_data(as_text=True)
    assert shown_codes(held) == [] and 'name="passphrase"' in held
    refused = post(client, "/account/codes", {"passphrase": "not the passphrase"})
    assert refused.status_code == 400 and 'name="passphrase"' in refused.get_data(as_text=True)
    fresh = post(client, "/account/codes", {"passphrase": PASSPHRASE}).get_data(as_text=True)
    assert len(shown_codes(fresh)) == 6 and not set(shown_codes(fresh)) & set(shown_codes(first))
    # The first sheet is void: asking back from it fails (and shows none of it).
    assert answer(client, first, asked(first)[1]).status_code == 400
    confirm_codes(client, fresh)
    assert client.get("/spaces").status_code == 200


def test_new_codes_from_the_settings_are_asked_back_too(client, make_account):
    make_account("Nadia")
    post(client, "/login", {"alias": "Nadia", "passphrase": PASSPHRASE})
    html = post(client, "/account/codes", {"passphrase": PASSPHRASE}).get_data(as_text=True)
    assert "Your old codes no longer work." in html and len(shown_codes(html)) == 6
    assert client.get("/").status_code == 303
    confirm_codes(client, html)
    assert client.get("/").status_code == 200


def test_codes_are_typed_loosely_when_recovering(client, make_account):
    codes = shown_codes(signup(client))
    post(client, "/logout")
    cyrillic = str.maketrans("ABCEHKMPTXY", "АВСЕНКМРТХУ")
    variants = [
        codes[0].lower(),
        codes[1].replace("-", " "),
        codes[2].replace("-", "\u2013"),  # en dash, as phones autocorrect
        "".join(chr(ord(c) + 0xFEE0) if c != "-" else c for c in codes[3]),  # full width
        codes[4].translate(cyrillic),  # a Cyrillic keyboard's look-alikes
    ]
    for i, typed in enumerate(variants):
        done = post(
            client,
            "/recover",
            {
                "alias": "Nadia",
                "code": typed,
                "passphrase": f"{NEW} {i}",
                "passphrase2": f"{NEW} {i}",
            },
        )
        assert done.status_code == 303, (typed, ERROR.findall(done.get_data(as_text=True)))
        post(client, "/logout")
    assert count_rows(RecoveryCode) == 1


def test_old_twelve_character_codes_still_recover(client, make_account):
    nadia = make_account("Nadia")
    old = "2345-ABCD-WXYZ"  # the format and the unsalted hash codes had before
    db.session.execute(sa.delete(RecoveryCode))
    db.session.add(RecoveryCode(account_id=nadia.id, code_hash=recovery._legacy_hash(old)))
    db.session.add(
        RecoveryCode(account_id=nadia.id, code_hash=recovery._legacy_hash("6789-KMNP-QRST"))
    )
    db.session.commit()
    form = {"alias": "Nadia", "code": "2345 abcd wxyz", "passphrase": NEW, "passphrase2": NEW}
    assert post(client, "/recover", form).status_code == 303
    assert client.get("/account").status_code == 200  # an old account is not held
    post(client, "/logout")
    assert post(client, "/recover", form).status_code == 400  # spent
    assert count_rows(RecoveryCode) == 1


HOSTILE = [
    "A" * 10_000,
    "٢٣٤٥-٦٧٨٩-٢٣٤٥",  # Arabic-Indic digits
    "２３４５-ABCD-WXYZ\x00",
    "ABCD\x00EFGH-JKMN-PQRS",
    "ABCD-EFGH-JKMN-PQRS\u200b\u2066",
    "\u202eSRQP-NMKJ-HGFE-DCBA",
]


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_codes_get_a_clear_error_not_a_500(client, make_account, typed):
    make_account("Nadia")
    form = {"alias": "Nadia", "code": typed, "passphrase": NEW, "passphrase2": NEW}
    refused = post(client, "/recover", form)
    assert refused.status_code == 400 and ERROR.search(refused.get_data(as_text=True))
    assert count_rows(RecoveryCode) == 6
    # The same at the step that asks one back, with the codes shown again.
    html = signup(client, "Mira")
    wrong = answer(client, html, typed)
    assert wrong.status_code == 400 and ERROR.search(wrong.get_data(as_text=True))
    assert shown_codes(wrong.get_data(as_text=True)) == shown_codes(html)


@pytest.mark.parametrize(
    "extra",
    [
        {"ask": "٣"},
        {"ask": "0"},
        {"ask": "99"},
        {"ask": "1" * 10_000},
        {"ask": ""},
        {"code": ["\x00"]},
        {"code": ["A" * 1_000] * 7},
        {"code": []},
    ],
)
def test_a_tampered_form_at_the_step_is_a_clear_error(client, extra):
    html = signup(client)
    wrong = answer(client, html, asked(html)[1], **extra)
    assert wrong.status_code == 400 and ERROR.search(wrong.get_data(as_text=True))
    assert client.get("/").status_code == 303


def test_the_page_works_without_javascript_and_copy_all_is_progressive(client):
    html = signup(client)
    # One block to select at once, read-only; the button is hidden until the script runs.
    box = re.search(r'<textarea id="codes-all"[^>]*>', html).group(0)
    assert "readonly" in box
    assert re.search(r'<button type="button"[^>]*id="copy-codes" hidden>', html)
    assert "/static/js/codes" in html and csrf_token(client, "/signup")
