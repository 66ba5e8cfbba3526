"""One rule for "not there": whatever a stranger may not see answers exactly as if it did
not exist, on every route and every Socket.IO event, on SQLite and on PostgreSQL.

The routes come from ``app.url_map`` and the events from ``ChatNamespace``'s ``on_*``
methods; each must have an entry in a policy table below, so a new route or event fails
here until someone says how it hides what it names. For each entry, Fred (a signed-in
stranger who owns a space of his own) asks for the hidden space's things and for things
that do not exist, and the answers (status, Location, page or ack) must be byte-equal
once the CSRF token is masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import Account
from forum.models import Organisation
from forum.models import Space
from moderation import actions
from realtime.namespace import ChatNamespace
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_thread
from tests.hostile import BACKENDS
from tests.hostile import MISSING_ID
from tests.hostile import MISSING_SLUG
from tests.hostile import ack_text
from tests.hostile import backend_app
from tests.hostile import build_world
from tests.hostile import error_log
from tests.support import WORLD_IDS
from tests.support import Sock
from tests.support import csrf_token
from tests.support import fill_route
from tests.support import routes
from tests.support import scrub
from tests.support import signed_in
from tests.support import url_variables

TOO_BIG = 2**31  # one past the largest id a column holds: "missing" too


@dataclass(frozen=True)
class Names:
    """A route that names hidden things: compare the hidden ones with missing ones.

    ``kinds`` lists the values a ``<kind>`` segment takes; ``form`` is what the POST
    sends (``{post}`` etc. are filled from the world: ids a form carries).
    """

    form: dict[str, str] = field(default_factory=dict)
    kinds: tuple[str, ...] = ()
    # Other URL segments that name no object, one set of values per variant
    # (e.g. ``{"action": "confirm"}`` for /alerts/<alert_id>/<action>).
    segments: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Names_nothing:
    """A route that names nothing anyone could hide (or only the caller's own things)."""

    why: str


NOTHING = Names_nothing
ROUTES: dict[str, Names | Names_nothing] = {
    "static": NOTHING("files shipped with the code"),
    "main.index": NOTHING("the front page"),
    "main.quick_exit": NOTHING("redirects away"),
    "main.language": NOTHING("the caller's own language choice"),
    "main.discreet_mode": NOTHING("the device's own discreet-mode switch"),
    "main.manifest": NOTHING("the web app manifest: a name and an icon"),
    "health.healthz": NOTHING("ok or unavailable, for load balancers"),
    "auth.login": NOTHING("signing in; unknown aliases are tested by the accounts tests"),
    "auth.logout": NOTHING("the caller's own session"),
    "auth.signup": NOTHING("creates an account"),
    "auth.recover": NOTHING("recovery by code; tested by the accounts tests"),
    "auth.codes": NOTHING("the caller's own codes, asked back; tests/test_recovery_codes.py"),
    "account.settings": NOTHING("the caller's own settings"),
    "account.new_codes": NOTHING("the caller's own codes"),
    "account.change_passphrase": NOTHING("the caller's own passphrase"),
    "account.preferences": NOTHING("the caller's own preferences"),
    "account.delete": NOTHING("the caller's own account"),
    "account.revoke_others": NOTHING("the caller's own sessions"),
    "account.revoke": Names(),
    "moderation.notice_list": NOTHING("the caller's own notices"),
    "moderation.block_list": NOTHING("the caller's own blocks"),
    "moderation.unblock": Names(),
    "moderation.block": Names(kinds=("post", "thread", "chat", "report")),
    "moderation.flag": Names(form={"reason": "spam"}, kinds=("post", "thread", "chat", "report")),
    "spaces.index": NOTHING("lists only what the caller may see (tests/test_spaces_access.py)"),
    "spaces.new": NOTHING("creates a space"),
    "spaces.invite": NOTHING("an invite code is itself the key to its space"),
    "threads.search": NOTHING("searches only the caller's spaces (tests/test_search.py)"),
    "threads.updates": NOTHING("the caller's own followed threads"),
    "orgs.index": NOTHING("lists only the caller's organisations"),
    "orgs.show": Names(),
    "orgs.new_space": Names(form={"name": "New one", "kind": "closed"}),
    "orgs.add_staff": Names(form={"alias": "Xan.Member"}),
    "orgs.remove_staff": Names(),
    "spaces.show": Names(),
    "spaces.join": Names(form={"space_alias": ""}),
    "spaces.ask": Names(form={"answer": "Please let me in"}),
    "spaces.cancel_request": Names(),
    "spaces.leave": Names(),
    "spaces.members": Names(),
    "spaces.set_role": Names(form={"role": "moderator"}),
    "spaces.settings": Names(
        form={
            "name": "Renamed",
            "description": "d",
            "rules": "r",
            "kind": "open",
            "join_question": "",
        }
    ),
    "spaces.invite_list": Names(form={"max_uses": "1", "days": "1"}),
    "spaces.revoke_invite": Names(),
    "spaces.requests": Names(),
    "spaces.decide": Names(form={"decision": "decline"}),
    "retention.space_retention": Names(form={"chat_hours": "3", "post_days": "7"}),
    "threads.new": Names(form={"title": "T", "body": "B"}),
    "threads.show": Names(),
    "threads.reply": Names(form={"body": "A reply"}),
    "moderation.pin": Names(form={"on": "1"}),
    "moderation.lock": Names(form={"on": "1"}),
    "threads.lifetime": Names(form={"days": "1"}),
    "threads.follow": Names(form={"on": "1"}),
    "threads.edit": Names(form={"title": "New title", "body": "Changed"}),
    "threads.delete": Names(),
    "chat.rooms": Names(),
    "chat.room": Names(form={"body": "hello", "client_id": "client-notthere-1"}),
    "chat.send": Names(form={"body": "hello", "client_id": "client-notthere-1"}),
    "chat.refresh": Names(),
    "chat.create": Names(form={"name": "New room"}),
    "chat.rename": Names(form={"name": "Renamed room"}),
    "chat.archive": Names(),
    "moderation.queue": Names(),
    "moderation.log": Names(),
    "moderation.words": Names(form={"pattern": "zebra", "action": "flag"}),
    "moderation.word_delete": Names(),
    "moderation.appeal_list": Names(),
    "moderation.decide": Names(form={"outcome": "uphold", "reason": ""}),
    "moderation.appeal": Names(form={"text": "Please look again"}),
    # The safety tools. A pairing, a check-in, an alert, a guide page of the hidden space
    # (Xan's and Olu's) is missing to Fred; so is a buddy request naming that space.
    "buddies.hub": NOTHING("the caller's own check-ins and buddies"),
    "buddies.index": NOTHING("the caller's own buddies and requests"),
    "buddies.start": Names(form={"minutes": "30", "buddy": "{buddy}", "note": "n"}),
    "buddies.safe": Names(),
    "buddies.extend": Names(form={"minutes": "30"}),
    "buddies.help_now": Names(),
    "buddies.alert": Names(),
    "buddies.ask": Names(form={"space": "{hidden}", "name": "Xan"}),
    "buddies.accept": Names(),
    "buddies.end": Names(),
    "buddies.conversation": Names(),
    "buddies.refresh": Names(),
    "buddies.send": Names(form={"client_id": "client-notthere-4", "body": "hello"}),
    "buddies.hours": Names(form={"hours": "1"}),
    "rights.index": Names(),
    "rights.show": Names(),
    "rights.new": Names(
        form={"title": "T", "body": "B", "reviewed_on": "2026-01-01", "review_days": "90"}
    ),
    "rights.edit": Names(
        form={"title": "T", "body": "B", "reviewed_on": "2026-01-01", "review_days": "90"}
    ),
    "rights.delete": Names(),
    "safety.alerts": Names(form={"body": "Police vans on the ring road"}),
    "safety.alert_action": Names(
        form={"reason": "old"},
        segments=({"action": "confirm"}, {"action": "dismiss"}, {"action": "remove"}),
    ),
    "safety.check": NOTHING("a lookup by identifier across the caller's own spaces"),
    "safety.reports": Names(),
    "safety.new_report": Names(
        form={
            "happened_on": "2026-01-01",
            "part_of_day": "night",
            "area": "Riverside",
            "what": "violence",
            "body": "Nasty.",
        }
    ),
    "safety.pending": Names(),
    "safety.show": Names(),
    "safety.approve": Names(),
    "safety.reject": Names(form={"reason": "no"}),
    "safety.withdraw": Names(),
    "safety.settings": Names(form={"region": "GB", "report_days": "180", "alert_hours": "48"}),
    "moderation.act": Names(form={"action": "hide", "kind": "post", "id": "{post}", "reason": "x"}),
}

# What each URL variable names in the hidden space: the world's ids, and a guide page's slug.
HIDDEN_ID = {**WORLD_IDS, "page_slug": "page"}
KIND_ID = {"post": "post", "thread": "thread", "chat": "chat", "report": "report"}

# Socket.IO events: the payload that names the hidden thing ({room} etc. from the world);
# None for events that name nothing.
EVENTS: dict[str, dict | None] = {
    "connect": None,
    "disconnect": None,
    "heartbeat": None,
    "join": {"room_id": "{room}", "after_seq": 0},
    "leave": {"room_id": "{room}"},
    "send": {"room_id": "{room}", "client_id": "client-notthere-2", "body": "hello"},
    "history": {"room_id": "{room}", "before_seq": 5},
    "typing": {"room_id": "{room}"},
    "watch_thread": {"thread_id": "{thread}"},
    "unwatch_thread": {"thread_id": "{thread}"},
    "dm_history": {"buddy_id": "{buddy}", "after_id": 0},
    "dm_send": {"buddy_id": "{buddy}", "client_id": "client-notthere-3", "body": "hello"},
}


def socket_events() -> set[str]:
    return {name[3:] for name in vars(ChatNamespace) if name.startswith("on_")}


@pytest.fixture(scope="module", params=BACKENDS)
def env(request, tmp_path_factory, template_db):
    with backend_app(
        request.param, tmp_path_factory.mktemp(request.param), template_db, RB_LIMITS_ENABLED=False
    ) as app:
        world = build_world()
        hidden = db.session.scalar(sa.select(Space).where(Space.slug == world["hidden"]))
        world.ids["org"] = db.session.get(Organisation, hidden.organisation_id).slug
        world.ids["hidden_id"] = hidden.id
        fred = signed_in(app, world.aliases["fred"])
        yield app, world, fred


# --- every route and every event has a policy ---------------------------------------------


def test_every_route_has_a_policy(env):
    app, _world, _fred = env
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert sorted(endpoints - set(ROUTES)) == [], "add these routes to ROUTES"
    assert sorted(set(ROUTES) - endpoints) == [], "these routes are gone: remove them from ROUTES"


def test_every_socket_event_has_a_policy():
    assert sorted(socket_events() ^ set(EVENTS)) == [], "add (or remove) these events in EVENTS"


def test_every_id_converter_is_bounded(env):
    app, _world, _fred = env
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            if type(converter).__name__ not in ("SegmentConverter", "SpaceConverter") and (
                rule.endpoint != "static"
            ):
                assert type(converter).__name__ == "IdConverter", (rule.rule, name)


# --- HTTP ----------------------------------------------------------------------------------


def _variants(rule, world) -> list[tuple[str, dict, dict]]:
    """(label, hidden values, missing values) for each way the rule can name something."""
    names = url_variables(rule)
    slug_hidden = world["org"] if rule.rule.startswith("/orgs/") else world["hidden"]
    base_hidden: dict = {}
    base_missing: dict = {}
    for name in names:
        if name == "slug":
            base_hidden[name], base_missing[name] = slug_hidden, MISSING_SLUG
        elif name in HIDDEN_ID:
            base_hidden[name], base_missing[name] = world[HIDDEN_ID[name]], MISSING_ID
    policy = ROUTES[rule.endpoint]
    variants = []
    fixed = {name for segment in policy.segments for name in segment}
    for kind, segment in [
        (k, g) for k in policy.kinds or (None,) for g in policy.segments or ({},)
    ]:
        hidden, missing = {**base_hidden, **segment}, {**base_missing, **segment}
        if kind is not None:
            hidden.update(kind=kind, target_id=world[KIND_ID[kind]])
            missing.update(kind=kind, target_id=MISSING_ID)
        kind = " ".join(filter(None, (kind, *segment.values())))
        variants.append((f"hidden {kind or ''}", hidden, missing))
        ids = [n for n in names if n not in ("slug", "kind", *fixed)]
        if ids:
            variants.append((f"too big {kind or ''}", {**missing, ids[0]: TOO_BIG}, missing))
        if "slug" in names and not rule.rule.startswith("/orgs/") and ids:
            # Fred's own space (he owns it, so every role check passes), the hidden space's id.
            own = {**hidden, "slug": world["own"]}
            variants.append((f"own space {kind or ''}", own, {**missing, "slug": world["own"]}))
    if "slug" in names and not rule.rule.startswith("/orgs/"):
        # What every link carries: the space's id (hidden) against an id no space has.
        for label, hidden, missing in list(variants):
            if label.startswith("hidden"):
                by_id = {**hidden, "slug": world["hidden_id"]}
                variants.append((f"{label} by id", by_id, {**missing, "slug": MISSING_ID}))
                variants.append((f"{label} by too big an id", by_id, {**missing, "slug": TOO_BIG}))
    if "slug" in names:
        variants.append(("control char", {**base_missing, "slug": "a\x00b"}, base_missing))
    return variants


def _path(rule, values: dict) -> str:
    return fill_route(rule, lambda _converter, name: values[name])


def _answer(client, method: str, path: str, form: dict, token: str) -> tuple:
    if method == "GET":
        response = client.get(path)
    else:
        response = client.post(path, data={"csrf_token": token, **form})
    return (
        response.status_code,
        response.headers.get("Location"),
        scrub(response.get_data(as_text=True)),
    )


def _fill(form: dict, world) -> dict:
    return {k: v.format(**{k2: v2 for k2, v2 in world.ids.items()}) for k, v in form.items()}


def _fill_missing(form: dict) -> dict:
    """The same form naming nothing: ``{hidden}`` (a slug) a missing slug, any other id missing."""
    return {
        k: (MISSING_SLUG if v == "{hidden}" else str(MISSING_ID) if v.startswith("{") else v)
        for k, v in form.items()
    }


def test_every_route_answers_hidden_as_missing(env):
    app, world, fred = env
    token = csrf_token(fred, "/account")
    checked = 0
    with error_log() as errors:
        for rule in routes(app):
            policy = ROUTES[rule.endpoint]
            if isinstance(policy, Names_nothing):
                continue
            for method in sorted(rule.methods & {"GET", "POST"}):
                for label, hidden, missing in _variants(rule, world):
                    form = _fill(policy.form, world)
                    missing_form = _fill_missing(policy.form)
                    seen = _answer(fred, method, _path(rule, hidden), form, token)
                    absent = _answer(fred, method, _path(rule, missing), missing_form, token)
                    where = f"{method} {rule.rule} ({label}): {_path(rule, hidden)}"
                    assert seen[0] < 500 and absent[0] < 500, where
                    assert seen == absent, where
                    checked += 1
    assert errors.summary() == []
    assert checked > 100


def test_moderator_action_form_ids_hidden_as_missing(env):
    """The queue form carries the item's id: another space's item is "not found" too."""
    app, world, fred = env
    token = csrf_token(fred, "/account")
    for kind in ("post", "thread", "chat"):
        for action in ("keep", "hide", "delete", "redact", "lock", "mute", "remove", "suspend"):
            form = {
                "action": action,
                "kind": kind,
                "reason": "x",
                "text": "t",
                "hours": "1",
                "days": "1",
            }
            seen = _answer(
                fred, "POST", f"/s/{world['own']}/mod/act", {**form, "id": world[kind]}, token
            )
            absent = _answer(
                fred, "POST", f"/s/{world['own']}/mod/act", {**form, "id": MISSING_ID}, token
            )
            too_big = _answer(
                fred, "POST", f"/s/{world['own']}/mod/act", {**form, "id": TOO_BIG}, token
            )
            assert seen == absent == too_big, (kind, action)
            assert seen[0] == 404


# --- Socket.IO -----------------------------------------------------------------------------


def _payload(template: dict, values: dict) -> dict:
    return {
        k: (values[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v)
        for k, v in template.items()
    }


def _compare_events(sock: Sock, hidden_ids: dict) -> int:
    checked = 0
    for event, template in EVENTS.items():
        if template is None:
            continue
        for label, values in (
            ("hidden", hidden_ids),
            ("too big", {"room": TOO_BIG, "thread": TOO_BIG, "buddy": TOO_BIG}),
        ):
            sent = _payload(template, values)
            missing = _payload(
                template, {"room": MISSING_ID, "thread": MISSING_ID, "buddy": MISSING_ID}
            )
            seen, absent = sock.ack(event, sent), sock.ack(event, missing)
            assert ack_text(seen, sent) == ack_text(absent, missing), (event, label, seen, absent)
            checked += 1
    return checked


def test_every_event_answers_hidden_as_missing(env):
    app, world, _fred = env
    sock = Sock(app, signed_in(app, world.aliases["fred"]))
    with error_log() as errors:
        checked = _compare_events(
            sock, {"room": world["room"], "thread": world["thread"], "buddy": world["buddy"]}
        )
    sock.disconnect()
    assert errors.summary() == []
    assert checked == 2 * sum(1 for t in EVENTS.values() if t is not None)


def test_after_a_live_removal_the_room_is_missing(env):
    """A member removed while their socket is in the room learns nothing more of it."""
    app, world, _fred = env
    owner = db.session.get(Account, world["olu"])
    hidden = db.session.scalar(sa.select(Space).where(Space.slug == world["hidden"]))
    leaver = make_account()
    add_member(hidden, leaver)
    topic = make_thread(hidden, leaver, title="Soon gone", body="words")
    sock = Sock(app, signed_in(app, leaver.alias))
    assert sock.ack("join", {"room_id": world["room"], "after_seq": 0})["ok"] is True
    assert sock.ack("watch_thread", {"thread_id": topic.id})["ok"] is True
    post_id = db.session.scalar(
        sa.text("SELECT id FROM posts WHERE thread_id = :t"), {"t": topic.id}
    )
    actions.remove_member(owner, world["hidden"], "post", post_id, "removed for the test")
    with error_log() as errors:
        checked = _compare_events(
            sock, {"room": world["room"], "thread": topic.id, "buddy": world["buddy"]}
        )
    sock.disconnect()
    assert errors.summary() == []
    assert checked > 0
