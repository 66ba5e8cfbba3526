"""What the earlier translation work missed: texts made outside a page's own view.

A refusal written from parts (the per-name link rule), the per-socket bucket's refusal
(answered before any request context exists), and error pages raised before the session
was read (a CSRF failure, a rate limit) all speak the reader's language.
"""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from flask_babel import gettext

from forum.extensions import db
from tests import factories
from tests.support import login
from tests.support import post


@pytest.fixture
def app_config() -> dict:
    # A bucket of 5 events that refills once in a long while: the sixth is refused.
    # Two sign-in attempts a minute: the third is refused by Flask-Limiter.
    return {"RB_SOCKET_BURST": 5, "RB_SOCKET_RATE": 0.001, "RB_LIMIT_LOGIN": "2 per minute"}


def spanish(app, text: str, **values: object) -> str:
    with app.test_request_context(), force_locale("es"):
        words = gettext(text, **values)
    assert words != text % values if values else words != text, f"no Spanish for {text!r}"
    return words


@pytest.fixture
def amara_es(member):
    member.locale = "es"
    db.session.commit()
    return member


def test_a_new_accounts_link_is_refused_in_its_language(app, amara_es, space, socket):
    room = factories.make_room(space)
    sock = socket()
    assert sock.ack("join", {"room_id": room.id, "after_seq": 0})["ok"]
    ack = sock.ack(
        "send", {"room_id": room.id, "client_id": "client-link-es-1", "body": "https://x.example"}
    )
    assert ack["ok"] is False and ack["status"] == 403
    # Amara writes under a space name there ("Amara-here"): the rule counts that name.
    assert ack["error"].startswith("Los nombres nuevos en un espacio todavía no pueden publicar")
    assert "x.example" in ack["error"] and "can't" not in ack["error"]
    # Each condition still to meet is in Spanish too, joined the Spanish way ("y").
    assert "lleves 3 días usando este nombre" in ack["error"]
    assert " y hayas escrito 5 mensajes" in ack["error"]


def test_the_sockets_own_bucket_refuses_in_its_language(app, amara_es, socket):
    sock = socket()
    acks = [sock.ack("heartbeat", {}) for _ in range(8)]
    refused = [ack for ack in acks if ack.get("status") == 429]
    assert refused, acks
    assert refused[0]["error"] == spanish(
        app, "You are sending too fast. Please wait a moment and try again."
    )


def test_a_csrf_failure_page_is_in_the_members_language(app, client, amara_es):
    response = client.post("/account/preferences", data={"locale": "en"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert '<html lang="es"' in html
    assert (
        spanish(
            app,
            "This form was out of date or came from another site. Please go back, reload the "
            "page and try again.",
        )
        in html
    )


def test_a_signed_out_visitor_gets_the_cookies_language_on_error_pages(app):
    visitor = app.test_client()
    visitor.set_cookie("rb_lang", "es")
    html = visitor.post("/login", data={"alias": "x"}).get_data(as_text=True)
    assert '<html lang="es"' in html


def test_flask_limiters_refusal_is_in_the_members_language(app, client, amara_es):
    # Flask-Limiter refuses before the session is read: the page still knows its reader.
    answers = [
        post(client, "/login", {"alias": "Bea", "passphrase": "wrong words"}).status_code
        for _ in range(3)
    ]
    assert answers[-1] == 429, answers
    refused = post(client, "/login", {"alias": "Bea", "passphrase": "wrong words"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429 and '<html lang="es"' in html
    assert "Too many" not in html and "Please wait" not in html


def test_a_member_signed_in_again_keeps_their_language_on_a_missing_page(app, client, amara_es):
    login(client, amara_es.alias)
    html = client.get("/no/such/page").get_data(as_text=True)
    assert spanish(app, "We could not find that page.") in html
