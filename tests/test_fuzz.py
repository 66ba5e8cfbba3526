"""Property test: no input gets a 500, on SQLite and on PostgreSQL.

Hypothesis drives every route of ``app.url_map`` with every form field and query
argument the views read (found in their source, so a new field is fuzzed without
anyone listing it), and every ``ChatNamespace`` event with hostile payloads: huge and
negative numbers, NUL, lone surrogates (as the raw bytes a client can send), other
control characters, wrong JSON types, very long strings and markup. Every answer must
be a 2xx, 3xx or 4xx that says what was wrong, and nothing may be logged at ERROR.

The default run is small (``RB_FUZZ_EXAMPLES``, 100 per test and backend); ``RB_HEAVY=1``
runs 2,000 fresh random examples instead of the same derandomized ones.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import re
from collections.abc import Callable
from urllib.parse import quote
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from forum.access import MAX_ID
from realtime.namespace import ChatNamespace
from tests.hostile import BACKENDS
from tests.hostile import MISSING_ID
from tests.hostile import backend_app
from tests.hostile import build_world
from tests.hostile import error_log
from tests.support import WORLD_IDS
from tests.support import Sock
from tests.support import csrf_token
from tests.support import fill_route
from tests.support import routes
from tests.support import signed_in
from tests.support import url_variables

HEAVY = os.environ.get("RB_HEAVY", "") not in ("", "0")
EXAMPLES = 2000 if HEAVY else int(os.environ.get("RB_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not HEAVY,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# Events are cheap: each of them gets a quarter of the examples a route test gets.
EVENT_FUZZ = settings(FUZZ, max_examples=max(10, EXAMPLES // 4))

FORM_FIELD = re.compile(
    r'(?:form_text|form_flag|_form_id|request\.form\.get|request\.form\.getlist)\("(\w+)"'
)
QUERY_ARG = re.compile(r'(?:request\.args\.get|int_arg)\("(\w+)"')
NAME = re.compile(r"\b([A-Za-z_]\w*)\b")


def fields_read_by(view: Callable[..., object], pattern: re.Pattern[str]) -> list[str]:
    """The form fields (or query arguments) a view reads, found in its source and in the
    source of its module's helpers and tables it names (``_room_page``, ``ACTS``...)."""
    module = inspect.getmodule(inspect.unwrap(view))
    source = inspect.getsource(inspect.unwrap(view))
    whole = inspect.getsource(module)
    found = set(pattern.findall(source))
    for name in set(NAME.findall(source)):
        target = getattr(module, name, None)
        if callable(target) and getattr(target, "__module__", None) == module.__name__:
            with contextlib.suppress(TypeError, OSError):
                found.update(pattern.findall(inspect.getsource(target)))
        elif isinstance(target, dict):
            block = re.search(rf"^{name} = \{{.*?^\}}", whole, re.S | re.M)
            if block:
                found.update(pattern.findall(block.group(0)))
    return sorted(found)


# Values that reach past the first check (so the fuzzer gets deep), per field name.
GOOD = {
    "action": [
        "keep",
        "hide",
        "delete",
        "redact",
        "lock",
        "mute",
        "remove",
        "suspend",
        "flag",
        "hold",
        "block",
    ],
    "kind": ["post", "thread", "chat", "open", "closed", "hidden"],
    "role": ["member", "moderator", "owner"],
    "decision": ["approve", "decline"],
    "outcome": ["uphold", "overturn"],
    "reason": ["spam", "other", "outing"],
    "on": ["1"],
    "client_id": ["client-fuzz-0001"],
    "days": ["1", "7"],
    "hours": ["1", "24"],
    "max_uses": ["1"],
    "chat_hours": ["3"],
    "post_days": ["7"],
    "locale": ["en", "es"],
    "page": ["1", "2"],
    "body": ["hello there"],
    "title": ["A title"],
    "name": ["A name"],
    "pattern": ["zebra"],
}
HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "hi \udfff",
    "\x07\x1b[31m",
    "\x85",
    "\u202eevil",
    "\u2067open",
    "\r\n\r\n",
    "-1",
    "0",
    "2147483648",
    "9223372036854775808",
    "1" + "0" * 40,
    "9" * 5000,
    "1e309",
    "NaN",
    "٣",
    "１２",
    "true",
    "null",
    "[]",
    "{}",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    "../../etc/passwd",
    "x" * 70_000,
    "🙂" * 3000,
    "\ufeff",
    "\u200b",
]
# The kinds that broke a database driver or a codec before: drawn as often as all the rest.
DEADLY = [
    "\x00",
    "a\x00b",
    "\ud800",
    "hi \ud800",
    "\x85",
    "\u202e",
    "-1",
    "2147483648",
    "9223372036854775808",
    "x" * 70_000,
]
hostile_text = st.one_of(
    st.sampled_from(DEADLY),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=40),
    st.text(
        alphabet=st.characters(categories=["Cc", "Cf", "Cs", "Co", "Zl", "Zp", "Mn"]), max_size=20
    ),
)


def _raw(value: str) -> bytes:
    """What a client can put on the wire: UTF-8, lone surrogates as their (invalid) bytes."""
    return value.encode("utf-8", "surrogatepass")


def form_body(fields: dict[str, str], token: str | None) -> bytes:
    pairs = [("csrf_token", token)] if token is not None else []
    pairs += list(fields.items())
    return "&".join(f"{quote(k)}={quote_from_bytes(_raw(v))}" for k, v in pairs).encode("ascii")


@pytest.fixture(scope="module", params=BACKENDS)
def env(request, tmp_path_factory, template_db):
    with backend_app(
        request.param, tmp_path_factory.mktemp(request.param), template_db, RB_LIMITS_ENABLED=False
    ) as app:
        world = build_world()
        clients = {who: signed_in(app, world.aliases[who]) for who in ("olu", "xan", "fred")}
        tokens = {who: csrf_token(client, "/account") for who, client in clients.items()}
        yield app, world, clients, tokens


IDS = {**WORLD_IDS, "target_id": "post"}  # a moderator form's target: a post
# Routes the fuzzer leaves out, and why: they would end the signed-in actor or all of them.
SPARED = {
    "auth.logout",
    "main.quick_exit",
    "account.delete",
    "account.revoke_others",
    "account.change_passphrase",
    "account.revoke",
    "static",
}


ACTORS = st.sampled_from(["olu", "olu", "olu", "xan", "xan", "fred"])  # the owner gets deepest


def _segment(draw, converter: str | None, name: str, world, who: str, hostile: bool) -> str:
    if converter == "int":
        good = world[IDS[name]] if name in IDS else 1
        if not hostile:
            return str(good)
        return str(
            draw(
                st.one_of(
                    st.sampled_from([MISSING_ID, MAX_ID, MAX_ID + 1, 2**63, 0]),
                    st.integers(-5, 2**70),
                )
            )
        )
    if converter == "path":
        return draw(st.sampled_from(["css/site.css", "../secret", "%00", "a%0Ab"]))
    if name == "slug":
        good = world["own"] if who == "fred" else world["hidden"]
    else:
        good = draw(st.sampled_from(["post", "thread", "chat"]))
    value = draw(hostile_text) if hostile else good
    return quote_from_bytes(_raw(value), safe="") or "x"


@st.composite
def requests(draw, app, world):
    """A request as a client that knows the site would send it, with one to three parts
    (a URL segment, a form field, a query argument) swapped for something hostile."""
    rule = draw(st.sampled_from(routes(app, SPARED)))
    method = draw(st.sampled_from(sorted(rule.methods & {"GET", "POST"})))
    who = draw(ACTORS)
    names = fields_read_by(
        app.view_functions[rule.endpoint], FORM_FIELD if method == "POST" else QUERY_ARG
    )
    fields = {name: draw(st.sampled_from(GOOD.get(name, ["ok"]))) for name in names}
    if method == "POST" and "id" in fields:
        fields["id"] = str(world[draw(st.sampled_from(["post", "thread", "chat"]))])
    parts = [("segment", n) for n in url_variables(rule)] + [
        ("field", n) for n in names + ["extra"]
    ]
    spoiled = set(draw(st.lists(st.sampled_from(parts), min_size=1, max_size=3, unique=True)))
    for kind, name in spoiled:
        if kind == "field":
            fields[name] = draw(hostile_text)
    path = fill_route(
        rule,
        lambda converter, name: _segment(
            draw, converter, name, world, who, ("segment", name) in spoiled
        ),
    )
    with_token = draw(st.integers(0, 9)) > 0  # now and then no CSRF token at all
    return who, method, path, fields, with_token


def _says_what_went_wrong(status: int, page: str) -> bool:
    return status < 400 or 'role="alert"' in page


@FUZZ
@given(data=st.data())
def test_no_request_gets_a_500(env, data):
    app, world, clients, tokens = env
    who, method, path, fields, with_token = data.draw(requests(app, world))
    client = clients[who]
    with error_log() as errors:
        if method == "GET":
            query = "&".join(f"{quote(k)}={quote_from_bytes(_raw(v))}" for k, v in fields.items())
            response = client.get(path + ("?" + query if query else ""))
        else:
            response = client.post(
                path,
                data=form_body(fields, tokens[who] if with_token else None),
                content_type="application/x-www-form-urlencoded",
            )
    page = response.get_data(as_text=True)
    assert response.status_code < 500, (method, path, fields, page[-400:])
    assert _says_what_went_wrong(response.status_code, page), (method, path, fields)
    assert errors.summary() == [], (method, path, fields)


# --- Socket.IO -----------------------------------------------------------------------------

EVENT_FIELDS = {
    "join": ["room_id", "after_seq"],
    "leave": ["room_id"],
    "history": ["room_id", "before_seq"],
    "send": ["room_id", "client_id", "body", "confirmed"],
    "typing": ["room_id"],
    "heartbeat": [],
    "watch_thread": ["thread_id"],
    "unwatch_thread": ["thread_id"],
    "dm_history": ["buddy_id", "after_id"],
    "dm_send": ["buddy_id", "client_id", "body"],
}
NOT_EVENTS = {"connect", "disconnect"}  # the handshake, not events a client emits with a payload

json_leaf = st.one_of(  # strings are hostile text, lone surrogates and all
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=6,
)


def test_every_event_is_fuzzed():
    events = {name[3:] for name in vars(ChatNamespace) if name.startswith("on_")}
    assert sorted(events - NOT_EVENTS) == sorted(EVENT_FIELDS)


@st.composite
def events(draw, event: str, world):
    """``event`` as the page's script would send it, each field kept, swapped for hostile
    JSON or left out; now and then a payload that is not an object at all."""
    who = draw(ACTORS)
    room = world["own_room"] if who == "fred" else world["room"]
    good = {
        "room_id": room,
        "thread_id": world["thread"],
        "body": "hello",
        "after_seq": 0,
        "client_id": f"client-fuzz-{draw(st.integers(0, 10**6)):07d}",
        "before_seq": 5,
        "confirmed": True,
        "buddy_id": world["buddy"],
        "after_id": 0,
    }
    payload: object = {}
    for name in [*EVENT_FIELDS[event], "extra"]:
        choice = draw(st.sampled_from(["keep", "keep", "hostile", "hostile", "drop"]))
        if choice == "hostile":
            payload[name] = draw(st.one_of(hostile_text, hostile_text, json_value))
        elif choice == "keep" and name in good:
            payload[name] = good[name]
    if draw(st.integers(0, 9)) == 0:
        payload = draw(json_value)
    return payload, who


@pytest.fixture(scope="module")
def sockets(env):
    made: dict[str, Sock] = {}
    yield made
    for sock in made.values():
        if sock.connected:
            sock.disconnect()


@pytest.mark.parametrize("event", sorted(EVENT_FIELDS))
@EVENT_FUZZ
@given(data=st.data())
def test_no_event_gets_a_500(env, sockets, event, data):
    app, world, clients, _tokens = env
    payload, who = data.draw(events(event, world))
    if who not in sockets or not sockets[who].connected:
        # The HTTP fuzzing may have suspended or removed this actor: a refused handshake
        # is an answer too (the tests of sockets check it), so then there is nothing to ask.
        sockets[who] = Sock(app, clients[who])
        if not sockets[who].connected:
            return
    with error_log() as errors:
        ack = sockets[who].ack(event, payload)
    shown = json.dumps(payload)[:300] if not isinstance(payload, float) else repr(payload)
    assert isinstance(ack, dict), (event, shown, ack)
    assert ack.get("status", 200) < 500, (event, shown, ack)
    if ack.get("ok") is not True:
        assert isinstance(ack.get("error"), str) and ack["error"], (event, shown, ack)
    assert errors.summary() == [], (event, shown)


# --- sweeps: every field of every event and form gets each of the deadly values once ------

SWEEP_JSON = [*DEADLY, 2**31, 2**64, -1, 1.5, True, None, [1], {"a": "\x00"}]


@pytest.mark.parametrize("event", sorted(EVENT_FIELDS))
def test_every_event_field_with_every_deadly_value(env, sockets, event):
    app, world, clients, _tokens = env
    good = {
        "room_id": world["room"],
        "thread_id": world["thread"],
        "body": "hello",
        "after_seq": 0,
        "before_seq": 5,
        "confirmed": True,
        "buddy_id": world["buddy"],
        "after_id": 0,
    }
    # A fresh connection per event: the random runs before may have left the shared one
    # cut by the server (a flood limit), which the test client does not always notice.
    old = sockets.pop("olu", None)
    if old is not None and old.connected:
        old.disconnect()
    sockets["olu"] = sock = Sock(app, clients["olu"])
    for n, (name, value) in enumerate(
        (name, value) for name in [*EVENT_FIELDS[event], "extra"] for value in SWEEP_JSON
    ):
        payload = {
            **{k: good.get(k, f"client-sweep-{event}-{n:05d}") for k in EVENT_FIELDS[event]},
            name: value,
        }
        with error_log() as errors:
            ack = sock.ack(event, payload)
        shown = (event, name, repr(value)[:40], ack)
        assert isinstance(ack, dict) and ack.get("status", 200) < 500, shown
        assert ack.get("ok") is True or ack.get("error"), shown
        assert errors.summary() == [], shown


def test_every_form_field_and_url_variable_with_nul(env):
    """NUL is what PostgreSQL cannot store: every variable and every field gets one."""
    app, world, clients, tokens = env
    client, token = clients["olu"], tokens["olu"]
    sent = 0
    for rule in routes(app, SPARED):
        for method in sorted(rule.methods & {"GET", "POST"}):
            names = fields_read_by(
                app.view_functions[rule.endpoint], FORM_FIELD if method == "POST" else QUERY_ARG
            )
            good = {name: GOOD.get(name, ["ok"])[0] for name in names}
            variables = url_variables(rule)
            for spoiled in [*(("segment", v) for v in variables), *(("field", n) for n in names)]:
                path = fill_route(
                    rule,
                    lambda converter, name, s=spoiled: (
                        quote("a\x00b", safe="")
                        if s == ("segment", name)
                        else _segment(lambda _s: "", converter, name, world, "olu", False)
                    ),
                )
                fields = {**good, **({spoiled[1]: "a\x00b"} if spoiled[0] == "field" else {})}
                with error_log() as errors:
                    if method == "GET":
                        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in fields.items())
                        response = client.get(path + ("?" + query if query else ""))
                    else:
                        response = client.post(
                            path,
                            data=form_body(fields, token),
                            content_type="application/x-www-form-urlencoded",
                        )
                page = response.get_data(as_text=True)
                shown = (method, rule.rule, spoiled, response.status_code)
                assert response.status_code < 500, shown
                assert _says_what_went_wrong(response.status_code, page), shown
                assert errors.summary() == [], shown
                sent += 1
    assert sent > 50
