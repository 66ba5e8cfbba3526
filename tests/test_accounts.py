"""Sign-up, login, logout, recovery, sessions, deletion: the account rules end to end."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from forum import accounts
from forum.extensions import db
from forum.models import Account
from forum.models import AuthSession
from forum.models import RecoveryCode
from tests.support import CSRF_RE
from tests.support import PASSPHRASE
from tests.support import confirm_codes
from tests.support import count_rows
from tests.support import login
from tests.support import post
from tests.support import shown_codes


def signup(client, alias="Nadia", passphrase=PASSPHRASE, again=None):
    return post(
        client,
        "/signup",
        {
            "alias": alias,
            "passphrase": passphrase,
            "passphrase2": passphrase if again is None else again,
        },
    )


def test_signup_shows_six_codes_once_and_signs_in(client):
    response = signup(client)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    codes = shown_codes(page)
    assert len(codes) == 6 and len(set(codes)) == 6
    assert "cannot recover" in page or "nobody can recover" in page
    assert "rb_session=" in response.headers["Set-Cookie"]
    # Signed in, but held at the codes step until one is typed back.
    assert client.get("/account").headers["Location"].endswith("/codes")
    confirm_codes(client, page)
    assert client.get("/account").status_code == 200
    stored = list(db.session.scalars(sa.select(RecoveryCode.code_hash)))
    assert len(stored) == 6
    assert not set(codes) & set(stored)  # hashed, not kept in clear


def test_signup_asks_for_alias_and_passphrase_only(client):
    page = client.get("/signup").get_data(as_text=True)
    # The sign-up form itself (the page also has the language picker, which asks nothing).
    form = re.search(r'<form[^>]*action="/signup".*?</form>', page, re.S).group(0)
    names = set(re.findall(r'name="([^"]+)"', form)) - {
        "csrf_token",
        "referrer",
        "viewport",
        "robots",
    }
    assert names == {"alias", "passphrase", "passphrase2"}


@pytest.mark.parametrize(
    ("alias", "passphrase", "again", "status"),
    [
        ("", PASSPHRASE, None, 400),
        ("ab", PASSPHRASE, None, 400),
        ("x" * 33, PASSPHRASE, None, 400),
        ("bad\u202eeman", PASSPHRASE, None, 400),
        ("zero\u200dwidth", PASSPHRASE, None, 400),
        ("ctrl\x07char", PASSPHRASE, None, 400),
        ("admin", PASSPHRASE, None, 400),
        ("Nadia", "short", None, 400),
        ("Nadia", "x" * 1025, None, 400),
        ("Nadia", "password123", None, 400),
        ("Nadia", PASSPHRASE, "something else entirely", 400),
        ("<script>alert(1)</script>", PASSPHRASE, None, 400),
    ],
)
def test_signup_refuses_bad_input_clearly(client, alias, passphrase, again, status):
    response = signup(client, alias, passphrase, again)
    assert response.status_code == status
    assert 'class="flash flash-error"' in response.get_data(as_text=True)
    assert count_rows(Account) == 0


def test_lookalike_alias_is_taken(client, make_account):
    make_account("Sam-Kit")
    make_account("Kopa")
    before = count_rows(Account)
    for lookalike in ("sam-kit", "SAM_KIT", "Кора"):  # the last is all Cyrillic
        response = signup(client, lookalike)
        assert response.status_code == 409, lookalike
        assert "taken" in response.get_data(as_text=True)
    mixed = signup(client, "Sаm-Kit")  # Latin with one Cyrillic а: refused outright
    assert mixed.status_code == 400
    assert count_rows(Account) == before


def test_wrong_types_and_missing_fields_never_500(client):
    token_page = client.get("/signup")
    assert token_page.status_code == 200
    for data in ({}, {"alias": ["a", "b"]}, {"alias": "Nadia", "passphrase": ""}):
        response = post(client, "/signup", data)
        assert response.status_code == 400
    assert count_rows(Account) == 0


def test_missing_or_wrong_csrf_is_refused(client, make_account):
    make_account("Nadia")
    no_token = client.post("/login", data={"alias": "Nadia", "passphrase": PASSPHRASE})
    assert no_token.status_code == 400
    assert "out of date" in no_token.get_data(as_text=True)
    wrong = client.post(
        "/login", data={"alias": "Nadia", "passphrase": PASSPHRASE, "csrf_token": "forged"}
    )
    assert wrong.status_code == 400
    assert "rb_session" not in wrong.headers.get("Set-Cookie", "")


def test_login_logout_and_old_cookie_is_dead(client, make_account):
    make_account("Nadia")
    login(client, "Nadia")
    cookie = client.get_cookie("rb_session").value
    assert client.get("/account").status_code == 200
    response = post(client, "/logout")
    assert response.status_code == 303
    assert client.get("/account").status_code == 302
    client.set_cookie("rb_session", cookie)  # a copy taken before logout
    assert client.get("/account").status_code == 302
    assert count_rows(AuthSession) == 1  # only the one from make_account's sign-up


def test_login_gives_a_fresh_token_every_time(client, make_account):
    make_account("Nadia")
    login(client, "Nadia")
    first = client.get_cookie("rb_session").value
    login(client, "Nadia")
    assert client.get_cookie("rb_session").value != first


def test_wrong_passphrase_and_unknown_alias_read_the_same(client, make_account):
    make_account("Nadia")
    wrong = post(client, "/login", {"alias": "Nadia", "passphrase": "not the passphrase"})
    unknown = post(client, "/login", {"alias": "Nobody-here", "passphrase": "not the passphrase"})
    assert wrong.status_code == unknown.status_code == 400
    assert accounts.WRONG_LOGIN.replace("'", "&#39;") in wrong.get_data(as_text=True)
    assert accounts.WRONG_LOGIN.replace("'", "&#39;") in unknown.get_data(as_text=True)


def test_login_rehashes_when_parameters_change(app, client, make_account):
    from forum import passwords

    account = make_account("Nadia")
    old = account.passphrase_hash
    passwords.configure(time_cost=2, memory_cost=16, parallelism=1)
    try:
        login(client, "Nadia")
        db.session.refresh(account)
        assert account.passphrase_hash != old
        assert not passwords.needs_rehash(account.passphrase_hash)
    finally:
        passwords.init_app(app)


def test_reset_with_code_spends_it(client):
    codes = shown_codes(signup(client).get_data(as_text=True))
    post(client, "/logout")
    new = "a brand new long passphrase"
    response = post(
        client,
        "/recover",
        {"alias": "nadia", "code": codes[0].lower(), "passphrase": new, "passphrase2": new},
    )
    assert response.status_code == 303
    post(client, "/logout")
    login(client, "Nadia", new)
    post(client, "/logout")
    again = post(
        client,
        "/recover",
        {"alias": "Nadia", "code": codes[0], "passphrase": new + "!", "passphrase2": new + "!"},
    )
    assert again.status_code == 400
    assert "don&#39;t match" in again.get_data(as_text=True)
    assert count_rows(RecoveryCode) == 5


def test_reset_with_weak_new_passphrase_keeps_the_code(client):
    codes = shown_codes(signup(client).get_data(as_text=True))
    post(client, "/logout")
    response = post(
        client,
        "/recover",
        {"alias": "Nadia", "code": codes[1], "passphrase": "short", "passphrase2": "short"},
    )
    assert response.status_code == 400
    assert count_rows(RecoveryCode) == 6


def test_regenerating_codes_voids_the_old_ones(client):
    old = shown_codes(signup(client).get_data(as_text=True))
    response = post(client, "/account/codes", {"passphrase": PASSPHRASE})
    new = shown_codes(response.get_data(as_text=True))
    assert len(new) == 6 and not set(new) & set(old)
    post(client, "/logout")
    refused = post(
        client,
        "/recover",
        {
            "alias": "Nadia",
            "code": old[0],
            "passphrase": "another long one",
            "passphrase2": "another long one",
        },
    )
    assert refused.status_code == 400


def test_sessions_are_listed_without_address_or_device_and_revocable(app, client, make_account):
    make_account("Nadia")
    other = app.test_client()
    login(other, "Nadia")
    login(client, "Nadia")
    page = client.get("/account").get_data(as_text=True)
    assert page.count("Started ") == 3
    assert "127.0.0.1" not in page and "Werkzeug" not in page
    response = post(client, "/account/sessions/revoke-others")
    assert response.status_code == 303
    assert other.get("/account").status_code == 302
    assert client.get("/account").status_code == 200


def test_cannot_revoke_someone_elses_session(app, client, make_account):
    make_account("Nadia")
    make_account("Fred")
    login(client, "Fred")
    nadia_session = db.session.scalar(
        sa.select(AuthSession.id).join(Account).where(Account.alias == "Nadia")
    )
    response = post(client, f"/account/sessions/{nadia_session}/revoke")
    assert response.status_code == 404
    assert db.session.get(AuthSession, nadia_session) is not None


def test_idle_and_absolute_session_limits(client, make_account, clock):
    make_account("Nadia")
    login(client, "Nadia")
    clock.advance(days=6)
    assert client.get("/account").status_code == 200
    clock.advance(days=6)
    assert client.get("/account").status_code == 200  # active within 7 days each time
    clock.advance(days=7, seconds=1)
    assert client.get("/account").status_code == 302  # idle too long
    login(client, "Nadia")
    for _ in range(6):
        clock.advance(days=5)
        client.get("/account")
    assert client.get("/account").status_code == 302  # 30 days since login


def test_passphrase_change_renews_token_and_ends_other_sessions(app, client, make_account):
    make_account("Nadia")
    other = app.test_client()
    login(other, "Nadia")
    login(client, "Nadia")
    before = client.get_cookie("rb_session").value
    new = "a different long passphrase"
    response = post(
        client,
        "/account/passphrase",
        {"current": PASSPHRASE, "passphrase": new, "passphrase2": new},
    )
    assert response.status_code == 303
    assert client.get_cookie("rb_session").value != before
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302


def test_wrong_current_passphrase_changes_nothing(client, make_account):
    account = make_account("Nadia")
    login(client, "Nadia")
    old = account.passphrase_hash
    response = post(
        client,
        "/account/passphrase",
        {"current": "wrong wrong wrong", "passphrase": "x" * 20, "passphrase2": "x" * 20},
    )
    assert response.status_code == 400
    db.session.refresh(account)
    assert account.passphrase_hash == old


def test_delete_account_is_immediate_and_complete(client):
    signup(client)
    wrong = post(client, "/account/delete", {"passphrase": "not it at all"})
    assert wrong.status_code == 400 and count_rows(Account) == 1
    response = post(client, "/account/delete", {"passphrase": PASSPHRASE})
    assert response.status_code == 303
    assert count_rows(Account) == count_rows(AuthSession) == count_rows(RecoveryCode) == 0
    assert client.get("/account").status_code == 302


def test_discreet_mode_changes_title_and_icon(client, make_account):
    make_account("Nadia")
    login(client, "Nadia")
    client.set_cookie("rb_discreet", "0")  # this device chose the full look
    assert "Red Brolly</title>" in client.get("/account").get_data(as_text=True)
    post(client, "/account/preferences", {"discreet": "1"})
    page = client.get("/account").get_data(as_text=True)
    assert "<title>Notes</title>" in page
    assert "favicon-discreet." in page and "Red Brolly" not in page


def test_preferences_refuse_unknown_language(client, make_account):
    make_account("Nadia")
    login(client, "Nadia")
    response = post(client, "/account/preferences", {"locale": "xx-evil"})
    assert response.status_code == 400


def per_address(app) -> int:
    """How many sign-ups one address gets an hour (RB_LIMIT_SIGNUP_ADDRESS: 20)."""
    return int(app.config["RB_LIMIT_SIGNUP_ADDRESS"].split()[0])


def test_a_group_behind_one_address_can_sign_up_then_it_waits(app, client):
    # A drop-in centre's Wi-Fi: twenty people sign up in an hour; the next one waits.
    assert per_address(app) == 20
    for i in range(per_address(app)):
        assert signup(client, f"Person{i}").status_code == 200
        post(client, "/logout")
    response = signup(client, "Person99")
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert re.search(r"wait \d+ minutes?", response.get_data(as_text=True))


def test_signup_is_still_limited_per_alias_whatever_the_address(app):
    for i in range(5):  # RB_LIMIT_SIGNUP: 5 an hour for one alias (taken after the first)
        post(
            app.test_client(),
            "/signup",
            {"alias": "Nadia", "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE},
            environ_base={"REMOTE_ADDR": f"10.0.2.{i}"},
        )
    c = app.test_client()
    response = post(
        c,
        "/signup",
        {"alias": "nadia", "passphrase": PASSPHRASE, "passphrase2": PASSPHRASE},
        environ_base={"REMOTE_ADDR": "10.0.3.1"},
    )
    assert response.status_code == 429


def test_login_is_limited_per_alias_whatever_the_address(app, make_account):
    make_account("Nadia")
    for i in range(10):
        c = app.test_client()
        post(
            c,
            "/login",
            {"alias": "Nadia", "passphrase": "wrong wrong wrong"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"},
        )
    c = app.test_client()
    response = post(
        c,
        "/login",
        {"alias": "nadia", "passphrase": PASSPHRASE},
        environ_base={"REMOTE_ADDR": "10.0.1.1"},
    )
    assert response.status_code == 429


def test_quick_exit_ends_session_and_clears_site_data(client, make_account):
    make_account("Nadia")
    login(client, "Nadia")
    response = client.get("/exit")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://")
    assert '"storage"' in response.headers["Clear-Site-Data"]
    # The way in: the log-in page, as a visitor (other pages lead to the neutral site
    # for ten minutes: tests/test_discreet.py).
    assert client.get("/login?next=/account").status_code == 200
    assert "Log out" not in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("app_config", [{"RB_ADDRESS_HEADER": "X-RB-Client-Address"}])
def test_address_comes_from_the_proxy_header_when_configured(app, app_config):
    def attempt(address: str, alias: str):
        c = app.test_client()
        headers = {"X-RB-Client-Address": address}
        return c.post(
            "/signup",
            data={
                "csrf_token": _token(c, headers),
                "alias": alias,
                "passphrase": PASSPHRASE,
                "passphrase2": PASSPHRASE,
            },
            headers=headers,
        )

    for i in range(per_address(app)):
        assert attempt("192.0.2.1", f"Person{i}").status_code == 200
    assert attempt("192.0.2.1", "Person98").status_code == 429
    assert (
        attempt("192.0.2.2", "Person97").status_code == 200
    )  # another client, behind the same proxy


def _token(c, headers):
    page = c.get("/signup", headers=headers).get_data(as_text=True)
    return CSRF_RE.search(page).group(1)


@pytest.mark.parametrize("app_config", [{"RB_LIMIT_BY_ADDRESS": False}])
def test_onion_instances_limit_by_alias_only(app, client, app_config):
    for i in range(7):
        assert signup(client, f"Person{i}").status_code == 200
        post(client, "/logout")
