"""The access matrix: every route of the spaces issue × who is asking × kind of space.

Who: visitor (signed out), a signed-in non-member, member, moderator, owner, and an
instance admin who is not a member. Kinds: open, closed, hidden. Wherever the
answer is 404, the page must be byte-for-byte the page a missing thing gives.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from forum import clock
from forum import invites
from forum.extensions import db
from forum.models import JoinRequest
from forum.models import Post
from tests.backends import build_template
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_space
from tests.factories import make_thread
from tests.support import login
from tests.support import post
from tests.support import scrub

ROLES = ("visitor", "nonmember", "member", "moderator", "owner", "admin")
KINDS = ("open", "closed", "hidden")

# (method, path, form, expectation) where expectation(kind, role) -> status for a signed-in role.
MEMBERS = ("member", "moderator", "owner")
MODS = ("moderator", "owner", "admin")
OWNERS = ("owner", "admin")


def reads(kind: str, role: str) -> bool:
    return role in MEMBERS or role == "admin" or kind == "open"


def knows(kind: str, role: str) -> bool:
    return reads(kind, role) or kind == "closed"


def readers(ok: int, allowed: tuple[str, ...], denied: int = 403):
    """Readers get ``ok`` if their role is allowed, else ``denied``; non-readers 404."""

    def expect(kind: str, role: str) -> int:
        if not reads(kind, role):
            return 404
        return ok if role in allowed else denied

    return expect


def join_get(kind: str, role: str) -> int:
    if not knows(kind, role):
        return 404
    return 200 if kind == "open" and role in ("nonmember", "admin") else 303


def join_post(kind: str, role: str) -> int:
    if not knows(kind, role):
        return 404
    if role in MEMBERS:
        return 409
    return 303 if kind == "open" else 403


def request_post(kind: str, role: str) -> int:
    if not knows(kind, role):
        return 404
    if role in MEMBERS:
        return 409
    return 303 if kind == "closed" else 403


def leave_post(kind: str, role: str) -> int:
    if not knows(kind, role):
        return 404
    return {"member": 303, "moderator": 303, "owner": 403}.get(role, 409)


def space_get(kind: str, role: str) -> int:
    return 200 if knows(kind, role) else 404


def invite_get(kind: str, role: str) -> int:
    return 303 if role in MEMBERS else 200


def invite_post(kind: str, role: str) -> int:
    return 303


ROUTES = [
    ("GET", "/s/{slug}", {}, space_get),
    ("GET", "/s/{slug}/join", {}, join_get),
    ("POST", "/s/{slug}/join", {"space_alias": ""}, join_post),
    ("POST", "/s/{slug}/request", {"answer": "Please let me in"}, request_post),
    ("POST", "/s/{slug}/leave", {}, leave_post),
    ("GET", "/s/{slug}/members", {}, readers(200, MEMBERS + ("nonmember", "admin"))),
    ("POST", "/s/{slug}/members/{member_mid}/role", {"role": "moderator"}, readers(303, OWNERS)),
    ("GET", "/s/{slug}/settings", {}, readers(200, OWNERS)),
    (
        "POST",
        "/s/{slug}/settings",
        {
            "name": "Renamed",
            "description": "d",
            "rules": "r",
            "kind": "{kind}",
            "join_question": "",
        },
        readers(303, OWNERS),
    ),
    ("GET", "/s/{slug}/invites", {}, readers(200, OWNERS)),
    ("POST", "/s/{slug}/invites", {"max_uses": "1", "days": "1"}, readers(201, OWNERS)),
    ("POST", "/s/{slug}/invites/{invite_id}/revoke", {}, readers(303, OWNERS)),
    ("GET", "/s/{slug}/requests", {}, readers(200, MODS)),
    ("POST", "/s/{slug}/requests/{request_id}", {"decision": "decline"}, readers(303, MODS)),
    ("GET", "/s/{slug}/t/new", {}, readers(200, MEMBERS)),
    ("POST", "/s/{slug}/t/new", {"title": "T", "body": "B"}, readers(303, MEMBERS)),
    ("GET", "/t/{thread_id}", {}, readers(200, MEMBERS + ("nonmember", "admin"))),
    ("GET", "/t/{thread_id}?page=2", {}, readers(200, MEMBERS + ("nonmember", "admin"))),
    ("POST", "/t/{thread_id}/reply", {"body": "A reply"}, readers(303, MEMBERS)),
    ("POST", "/t/{thread_id}/pin", {"on": "1"}, readers(303, MODS)),
    ("POST", "/t/{thread_id}/lock", {"on": "1"}, readers(303, MODS)),
    ("POST", "/t/{thread_id}/follow", {"on": "1"}, readers(303, MEMBERS + ("nonmember", "admin"))),
    ("GET", "/p/{post_id}/edit", {}, readers(200, ("member",))),
    (
        "POST",
        "/p/{post_id}/edit",
        {"title": "New title", "body": "Changed"},
        readers(303, ("member",)),
    ),
    ("POST", "/p/{post_id}/delete", {}, readers(303, ("member",))),
    ("GET", "/invite/{code}", {}, invite_get),
    ("POST", "/invite/{code}", {"space_alias": ""}, invite_post),
]
MISSING = {
    "slug": "no-such-space",
    "thread_id": 999999,
    "post_id": 999999,
    "member_mid": 999999,
    "invite_id": 999999,
    "request_id": 999999,
}


WORLD: dict = {}


@pytest.fixture(scope="module")
def db_template(backend, tmp_path_factory):
    """This module's database template: the migrations plus the world below, built once
    per backend."""
    template, built = build_template(backend, tmp_path_factory.mktemp("matrix"), _build_world)
    WORLD.clear()
    WORLD.update(built)
    return template


def _build_world() -> dict:
    people = {role: make_account(f"{role}x", admin=role == "admin") for role in ROLES[1:]}
    built = {}
    for n, kind in enumerate(KINDS):
        space = make_space(kind, owner=people["owner"], name=f"{kind} space")
        member = add_member(space, people["member"])
        add_member(space, people["moderator"], role="moderator")
        t = make_thread(space, people["member"])
        requester = make_account(f"asker{n}x")
        # Written directly: the matrix needs a pending request in open and hidden spaces too.
        request = JoinRequest(
            space_id=space.id, account_id=requester.id, answer="", created_at=clock.now()
        )
        db.session.add(request)
        db.session.commit()
        new = invites.create_invite(people["owner"], space.slug, max_uses=None)
        first_post = db.session.scalar(sa.select(Post.id).where(Post.thread_id == t.id))
        built[kind] = {
            "slug": space.slug,
            "thread_id": t.id,
            "post_id": first_post,
            "member_mid": member.id,
            "invite_id": new.invite.id,
            "request_id": request.id,
            "code": new.code,
            "kind": kind,
        }
    return built


@pytest.fixture
def world(app):
    return WORLD


def _fill(template: str, values: dict) -> str:
    return template.format(**values)


def _call(client, method: str, path: str, form: dict):
    if method == "GET":
        return client.get(path)
    return post(client, path, form)


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p, _f, _e in ROUTES])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", KINDS)
def test_access_matrix(app, world, kind, role, route):
    method, template, form, expect = route
    values = world[kind]
    form = {k: v.format(**values) for k, v in form.items()}
    client = app.test_client()
    if role != "visitor":
        login(client, f"{role}x")
    response = _call(client, method, _fill(template, values), form)
    if role == "visitor":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
        return
    wanted = expect(kind, role)
    assert response.status_code == wanted, response.get_data(as_text=True)[-600:]
    if wanted == 404:
        missing = _call(client, method, _fill(template, {**values, **MISSING}), form)
        assert missing.status_code == 404
        assert scrub(response.get_data(as_text=True)) == scrub(missing.get_data(as_text=True))


@pytest.mark.parametrize("path", ["/spaces", "/search?q=hello", "/updates", "/orgs", "/"])
def test_global_pages(app, make_account, path):
    client = app.test_client()
    response = client.get(path)
    if path == "/":
        assert response.status_code == 200
    else:
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    make_account("Reader")
    login(client, "Reader")
    assert client.get(path).status_code == 200


def test_hidden_space_is_not_listed_closed_is(app, make_account):
    owner = make_account("Owner1")
    make_space("hidden", owner=owner, name="Secret circle")
    make_space("closed", owner=owner, name="Quiet room")
    make_account("Outsider")
    client = app.test_client()
    login(client, "Outsider")
    page = client.get("/spaces").get_data(as_text=True)
    assert "Quiet room" in page and "Secret circle" not in page
    owner_client = app.test_client()
    login(owner_client, "Owner1")
    assert "Secret circle" in owner_client.get("/spaces").get_data(as_text=True)
