"""The issue's "done" story, end to end through HTTP."""

from __future__ import annotations

import re

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Membership
from forum.models import Post
from forum.models import Space
from tests.factories import make_space
from tests.support import login
from tests.support import post
from tests.support import scrub

LINK_RE = re.compile(r"http://localhost(/invite/[A-Za-z0-9_-]+)")


def test_the_whole_story(app, make_account):
    admin = make_account("Keeper", admin=True)
    make_account("Nadia")
    make_account("Clinic.Worker")
    invitee = make_account("Amara")
    make_account("Fred")
    newcomers = make_space("open", owner=admin, name="Newcomers")

    # A new user joins an open space, starts a thread and replies.
    c = app.test_client()
    login(c, "Nadia")
    assert post(c, f"/s/{newcomers.slug}/join").status_code == 303
    r = post(c, f"/s/{newcomers.slug}/t/new", {"title": "Hello all", "body": "First time here"})
    assert r.status_code == 303
    thread_path = r.headers["Location"]
    assert post(c, thread_path + "/reply", {"body": "Answering myself"}).status_code == 303
    page = c.get(thread_path).get_data(as_text=True)
    assert "First time here" in page and "Answering myself" in page and "Nadia" in page

    # An admin makes an organisation and adds the staff account.
    a = app.test_client()
    login(a, "Keeper")
    r = post(a, "/orgs", {"name": "Health Project"})
    assert r.status_code == 303
    org_path = r.headers["Location"]
    assert post(a, org_path + "/staff", {"alias": "Clinic.Worker"}).status_code == 303

    # The staff account creates the closed group and makes a single-use invite.
    s = app.test_client()
    login(s, "Clinic.Worker")
    r = post(
        s,
        org_path + "/spaces/new",
        {"name": "HIV+ peer support", "kind": "closed", "join_question": "Why join?"},
    )
    assert r.status_code == 303, r.get_data(as_text=True)
    group = db.session.scalar(sa.select(Space).where(Space.name == "HIV+ peer support"))
    assert group.kind == "closed" and group.organisation_id is not None
    r = post(s, f"/s/{group.slug}/invites", {"max_uses": "1", "days": "7", "label": "for A"})
    assert r.status_code == 201
    invite_path = LINK_RE.search(r.get_data(as_text=True)).group(1)
    assert invite_path not in s.get(f"/s/{group.slug}/invites").get_data(as_text=True)  # shown once

    # The member joins under a separate space alias.
    m = app.test_client()
    login(m, "Amara")
    assert "HIV+ peer support" in m.get(invite_path).get_data(as_text=True)
    assert post(m, invite_path, {"space_alias": "Rosa"}).status_code == 303
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.account_id == invitee.id, Membership.space_id == group.id
        )
    )
    assert membership.display_name == "Rosa"
    r = post(
        m, f"/s/{group.slug}/t/new", {"title": "Clinic tips", "body": "zebracrossing marker text"}
    )
    thread_id = int(r.headers["Location"].rsplit("/", 1)[1])
    page = m.get(f"/t/{thread_id}").get_data(as_text=True)
    assert "Rosa" in page and "Amara" not in page.split("</header>", 1)[1]
    # The code was single use.
    other = app.test_client()
    login(other, "Nadia")
    assert other.get(invite_path).status_code == 410

    # A signed-in non-member gets the missing-thing 404 for every page, and no search hits.
    f = app.test_client()
    login(f, "Fred")
    missing = scrub(f.get("/s/no-such-space/members").get_data(as_text=True))
    post_id = db.session.scalar(sa.select(Post.id).where(Post.thread_id == thread_id))
    for path in (
        f"/s/{group.slug}/members",
        f"/s/{group.slug}/t/new",
        f"/s/{group.slug}/settings",
        f"/s/{group.slug}/invites",
        f"/s/{group.slug}/requests",
        f"/t/{thread_id}",
        f"/p/{post_id}/edit",
    ):
        r = f.get(path)
        assert r.status_code == 404, path
        assert scrub(r.get_data(as_text=True)) == missing, path
    for path in (f"/t/{thread_id}/reply", f"/p/{post_id}/delete", f"/t/{thread_id}/follow"):
        assert post(f, path, {"body": "x"}).status_code == 404, path
    found = f.get("/search?q=zebracrossing").get_data(as_text=True)
    assert "Clinic tips" not in found and "Nothing found" in found
    # ...while the member does find it.
    assert "Clinic tips" in m.get("/search?q=zebracrossing").get_data(as_text=True)
