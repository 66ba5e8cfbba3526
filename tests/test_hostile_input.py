"""Hostile input gets a clear 4xx, never a 500, on SQLite and on PostgreSQL.

The cases a fuzzer found on a running server (ids past the column type, NUL in a URL
and in moderators' and appeal text, a lone surrogate in a chat message, a huge
``thread_id``), and the one text rule every field follows (``forum/text.py``).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from forum import accounts
from forum import aliases
from forum import passwords
from forum import search
from forum import text
from forum.errors import Invalid
from forum.extensions import db
from forum.safety import buddies
from forum.safety import identifiers
from realtime.models import ChatMessage
from tests.factories import make_space
from tests.factories import make_thread
from tests.hostile import BACKENDS
from tests.hostile import MISSING_ID
from tests.hostile import backend_app
from tests.hostile import build_world
from tests.hostile import error_log
from tests.support import PASSPHRASE
from tests.support import Sock
from tests.support import post
from tests.support import scrub
from tests.support import signed_in

HIDDEN = "hidden control characters"


@pytest.fixture(scope="module", params=BACKENDS)
def env(request, tmp_path_factory, template_db):
    """One app and world per backend for this module (nothing here may change it)."""
    with backend_app(
        request.param, tmp_path_factory.mktemp(request.param), template_db, RB_LIMITS_ENABLED=False
    ) as app:
        yield app, build_world()


# --- the text rule --------------------------------------------------------------------

REFUSED = [
    "a\x00b",
    "a\x07b",
    "a\x1bb",
    "a\x7fb",
    "a\x85b",
    "a\x9fb",
    "hi \ud800",
    "\udfff",
    "a\u202eb",
    "a\u202ab",
    "\u2067open only",
    "close only\u2069",
    "\u2066a\u2069\u2069",
]
ALLOWED = [
    "plain",
    "كلمة \u200fعربية",
    "\u2067كلمة\u2069 then latin",
    "a\u200eb",
    "emoji 👩‍👩‍👧",
    "tab\tin",
]


@pytest.mark.parametrize("value", REFUSED)
def test_clean_refuses_hidden_characters_with_a_message(value):
    with pytest.raises(Invalid, match=HIDDEN):
        text.clean(value, "message", 100, multiline=True)


@pytest.mark.parametrize("value", ALLOWED)
def test_clean_keeps_what_people_write(value):
    assert text.clean(value, "message", 100, multiline=True) == value.strip()


def test_line_breaks_only_in_multiline_fields():
    assert text.clean("one\r\ntwo\rthree", "post", 100, multiline=True) == "one\ntwo\nthree"
    for value in ("one\ntwo", "tab\there", "a\u2028b"):
        with pytest.raises(Invalid, match="one line"):
            text.clean(value, "title", 100)


def test_isolates_must_close_on_their_own_line():
    with pytest.raises(Invalid, match=HIDDEN):
        text.clean("\u2067open\nclosed\u2069", "post", 100, multiline=True)


def test_names_refuse_invisible_characters_and_fold_spaces():
    assert text.clean("Night   shift", "room name", 60, name=True) == "Night shift"
    with pytest.raises(Invalid, match="invisible"):
        text.clean("a\u200bb", "room name", 60, name=True)


@pytest.mark.parametrize("value", ["a\x00b", "\ud800", "a\u202eb", "\u2067open"])
def test_every_other_text_field_takes_the_one_rule(app, make_account, value):
    """Passphrases, recovery codes, aliases and buddy names are refused by text.py's rule
    (aliases say it in their own words); a search and an identifier to look up drop the
    same characters instead (copied phone numbers come wrapped in direction marks)."""
    account = make_account("Owner.Rule")
    kind = text.hidden_kind(value)
    assert kind is not None
    for call in (
        lambda: accounts.log_in("Owner.Rule", PASSPHRASE + value),
        lambda: accounts.reset_with_code("Owner.Rule", "ABCD" + value, "x", "x"),
        lambda: accounts.regenerate_codes(account, value),
        lambda: passwords.check_passphrase("lamp fog ribbon kettle " + value),
    ):
        with pytest.raises(Invalid, match="hidden control characters|can't store"):
            call()
    with pytest.raises(Invalid) as refused:
        aliases.normalise_alias("an" + value + "na")
    assert {"surrogate": "can't show", "bidi": "invisible", "control": "control"}[kind] in str(
        refused.value
    )
    space = make_space("open", owner=account)
    with pytest.raises(Invalid, match="hidden control characters"):
        buddies.ask(account, space.slug, "Some" + value + "one")
    make_thread(space, account, title="t", body="kestrel feathers")
    bare = "".join(c for c in value if not c.isalnum())  # the hidden character alone
    found = search.search(account, bare + "kestrel" + bare)
    assert text.hidden_kind(found.query) is None and len(found.hits) == 1
    plain = identifiers.candidates("+44 7700 900123", ["GB"], "phone")
    assert plain and identifiers.candidates(bare + "+44 7700 900123" + bare, ["GB"]) >= plain


@pytest.mark.parametrize("value", ["²", "1²", "٣x", "--1"])
def test_whole_numbers_never_crash(value):
    with pytest.raises(Invalid, match="whole number"):
        text.whole_number(value, "number of uses", 0, 100)


@pytest.mark.parametrize("value", [None, 42, ["a"], {"a": 1}, b"bytes", 1.5, True])
def test_clean_refuses_what_is_not_text(value):
    with pytest.raises(Invalid, match="must be text"):
        text.clean(value, "message", 100)


# --- over HTTP and sockets, on both databases ---------------------------------------------


def _not_found_page(client) -> str:
    response = client.get(f"/t/{MISSING_ID}")
    assert response.status_code == 404
    return scrub(response.get_data(as_text=True))


@pytest.mark.parametrize(
    "raw", ["2147483648", "9223372036854775808", "1" + "0" * 40, "0", "٣", "00"]
)
def test_ids_past_the_column_are_missing(env, raw):
    app, world = env
    client = signed_in(app, world.aliases["fred"])
    missing = _not_found_page(client)
    with error_log() as errors:
        for path in (
            f"/t/{raw}",
            f"/p/{raw}/edit",
            f"/s/{world['own']}/chat/{raw}",
            f"/flag/post/{raw}",
        ):
            response = client.get(path)
            assert response.status_code == 404, path
            assert scrub(response.get_data(as_text=True)) == missing, path
        response = post(client, f"/t/{raw}/reply", {"body": "hello"})
        assert response.status_code == 404
    assert errors.summary() == []


@pytest.mark.parametrize("raw", ["a%00b", "a%0Ab", "a%09b", "a%C2%85b", "a%E2%80%AEb", "%00"])
def test_slugs_with_control_characters_are_missing(env, raw):
    app, world = env
    client = signed_in(app, world.aliases["fred"])
    missing = scrub(client.get("/s/no-such-space").get_data(as_text=True))
    with error_log() as errors:
        for path in (
            f"/s/{raw}",
            f"/s/{raw}/chat",
            f"/s/{raw}/members",
            f"/orgs/{raw}",
            f"/invite/{raw}",
        ):
            response = client.get(path)
            assert response.status_code == 404, path
            if path.startswith("/s/"):
                assert scrub(response.get_data(as_text=True)) == missing, path
        assert post(client, f"/s/{raw}/join", {}).status_code == 404
    assert errors.summary() == []


@pytest.mark.parametrize("field", ["reason", "text"])
def test_moderator_reason_and_text_with_nul_is_a_clear_400(env, field):
    app, world = env
    client = signed_in(app, world.aliases["olu"])
    form = {
        "action": "redact",
        "kind": "chat",
        "id": str(world["chat"]),
        "reason": "ok",
        "text": "redacted",
    }
    form[field] = "bad\x00value"
    with error_log() as errors:
        response = post(client, f"/s/{world['hidden']}/mod/act", form)
    assert response.status_code == 400 and HIDDEN in response.get_data(as_text=True)
    assert errors.summary() == []
    assert db.session.get(ChatMessage, world["chat"]).body == "hello hidden"


def test_appeal_text_with_nul_is_a_clear_400(env):
    app, world = env
    client = signed_in(app, world.aliases["olu"])
    with error_log() as errors:
        response = post(
            client,
            f"/s/{world['hidden']}/mod/appeals/{world['appeal']}/decide",
            {"outcome": "uphold", "reason": "nul\x00here"},
        )
    assert response.status_code == 400 and HIDDEN in response.get_data(as_text=True)
    assert errors.summary() == []


def test_lone_surrogate_in_a_chat_message_is_a_clear_400(env):
    app, world = env
    sock = Sock(app, signed_in(app, world.aliases["xan"]))
    before = db.session.scalar(sa.select(sa.func.count()).select_from(ChatMessage))
    with error_log() as errors:
        ack = sock.ack(
            "send", {"room_id": world["room"], "client_id": "client-surrogate", "body": "hi \ud800"}
        )
    sock.disconnect()
    assert ack["ok"] is False and ack["status"] == 400 and HIDDEN in ack["error"]
    assert errors.summary() == []
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChatMessage)) == before


@pytest.mark.parametrize("event", ["watch_thread", "unwatch_thread"])
@pytest.mark.parametrize("thread_id", [2**31, 2**53, 2**63, 2**70])
def test_huge_thread_ids_in_socket_events(env, event, thread_id):
    app, world = env
    sock = Sock(app, signed_in(app, world.aliases["xan"]))
    with error_log() as errors:
        ack = sock.ack(event, {"thread_id": thread_id})
        missing = sock.ack(event, {"thread_id": MISSING_ID})
    sock.disconnect()
    assert ack == missing
    if event == "watch_thread":
        assert ack == {"ok": False, "error": "We could not find that page.", "status": 404}
    assert errors.summary() == []


@pytest.mark.parametrize("seq", [2**31, 2**40, 2**53 - 1])
def test_huge_message_numbers_are_refused(env, seq):
    app, world = env
    sock = Sock(app, signed_in(app, world.aliases["xan"]))
    with error_log() as errors:
        join = sock.ack("join", {"room_id": world["room"], "after_seq": seq})
        history = sock.ack("history", {"room_id": world["room"], "before_seq": seq})
    sock.disconnect()
    assert join["status"] == 400 and history["status"] == 400
    assert errors.summary() == []
