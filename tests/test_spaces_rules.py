"""Invites, names per space, roles, leaving, threads, follows, hooks and starter spaces."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from forum import accounts
from forum import invites
from forum import signals
from forum import spaces
from forum import threads
from forum.errors import Conflict
from forum.errors import Forbidden
from forum.errors import Invalid
from forum.extensions import db
from forum.models import Invite
from forum.models import Membership
from forum.models import Post
from forum.models import Space
from forum.models import Thread
from moderation import actions
from realtime.models import ChatRoom
from tests.factories import add_member
from tests.factories import make_space
from tests.factories import make_thread
from tests.support import PASSPHRASE
from tests.support import login
from tests.support import post


@pytest.fixture
def owner(make_account):
    return make_account("Owner.One")


# --- invites -------------------------------------------------------------------------


def test_invite_code_is_stored_hashed_and_counts_uses(app, owner, make_account):
    space = make_space("hidden", owner=owner)
    new = invites.create_invite(owner, space.slug, max_uses=2, days=1)
    stored = db.session.scalar(sa.select(Invite.code_hash))
    assert new.code not in stored and stored == invites.hash_code(new.code)
    a, b, c = make_account(), make_account(), make_account()
    invites.accept_invite(a, new.code)
    invites.accept_invite(a, new.code)  # already a member: no use spent
    invites.accept_invite(b, new.code)
    assert db.session.get(Invite, new.invite.id).uses == 2
    with pytest.raises(invites.InviteUnusable, match="used up"):
        invites.accept_invite(c, new.code)


def test_invite_expiry_with_the_clock(app, owner, make_account, clock, client):
    space = make_space("closed", owner=owner)
    new = invites.create_invite(owner, space.slug, max_uses=None, days=2)
    make_account("Latecomer")
    login(client, "Latecomer")
    clock.advance(days=2, seconds=-1)
    assert client.get(f"/invite/{new.code}").status_code == 200
    clock.advance(seconds=1)
    response = client.get(f"/invite/{new.code}")
    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert "expired" in page and space.name not in page
    assert post(client, f"/invite/{new.code}", {}).status_code == 410


def test_revoked_and_spent_codes_say_so(app, owner, make_account, client):
    space = make_space("hidden", owner=owner, name="Secret circle")
    single = invites.create_invite(owner, space.slug, max_uses=1)
    revoked = invites.create_invite(owner, space.slug, max_uses=5)
    invites.revoke_invite(owner, space.slug, revoked.invite.id)
    invites.accept_invite(make_account(), single.code)
    make_account("Somebody.Else")
    login(client, "Somebody.Else")
    spent = client.get(f"/invite/{single.code}")
    assert spent.status_code == 410 and "used up" in spent.get_data(as_text=True)
    gone = client.get(f"/invite/{revoked.code}")
    assert gone.status_code == 410 and "withdrawn" in gone.get_data(as_text=True)
    for response in (spent, gone):
        assert "Secret circle" not in response.get_data(as_text=True)
    unknown = client.get("/invite/" + "A" * 24)
    assert unknown.status_code == 404
    assert client.get(f"/s/{space.slug}").status_code == 404


def test_invite_list_shows_use_counts_to_owners(app, owner, make_account, client):
    space = make_space("closed", owner=owner)
    new = invites.create_invite(owner, space.slug, label="for the clinic", max_uses=3)
    invites.accept_invite(make_account(), new.code)
    login(client, "Owner.One")
    page = client.get(f"/s/{space.slug}/invites").get_data(as_text=True)
    assert "for the clinic" in page and "used 1 of 3" in page
    assert new.code not in page


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"max_uses": "0"}, 400),
        ({"max_uses": "-1"}, 400),
        ({"max_uses": "abc"}, 400),
        ({"max_uses": "9" * 50}, 400),
        ({"days": "366"}, 400),
        ({"days": "1.5"}, 400),
        ({"label": "x" * 101}, 400),
        ({"label": "a\x00b"}, 400),
        ({"label": "<b>hi</b>", "max_uses": "", "days": ""}, 201),
    ],
)
def test_invite_form_refuses_bad_input(app, owner, client, form, status):
    space = make_space("closed", owner=owner)
    login(client, "Owner.One")
    response = post(client, f"/s/{space.slug}/invites", form)
    assert response.status_code == status
    assert "<b>hi</b>" not in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invite)) == (
        1 if status == 201 else 0
    )


def test_invite_code_junk_is_a_404(app, make_account, client):
    make_account("Somebody.Else")
    login(client, "Somebody.Else")
    for code in ("short", "x" * 500, "%00", "..%2f..", "a b c d e f g h i j k l"):
        assert client.get(f"/invite/{code}").status_code == 404


# --- names per space ------------------------------------------------------------------


def test_space_alias_is_used_everywhere_in_the_space(app, owner, make_account, client):
    amara = make_account("Amara")
    space = make_space("closed", owner=owner, name="Circle")
    code = invites.create_invite(owner, space.slug).code
    invites.accept_invite(amara, code, "Rosa")
    t = make_thread(space, amara, title="From Rosa", body="hello")
    reply = threads.reply(amara, t.id, body="again")
    assert t.author_name == "Rosa" and reply.author_name == "Rosa"
    membership = db.session.scalar(sa.select(Membership).where(Membership.account_id == amara.id))
    assert membership.space_alias == "Rosa" and membership.display_name == "Rosa"
    assert membership.name_key != amara.alias_key


def test_an_alias_two_names_never_appear_together(app, owner, make_account):
    amara = make_account("Amara")
    viewer = make_account("Viewer")
    open_space = make_space("open", owner=owner, name="Lobby")
    closed = make_space("closed", owner=owner, name="Circle")
    add_member(open_space, amara)
    add_member(open_space, viewer)
    add_member(closed, amara, space_alias="Rosa")
    add_member(closed, viewer)
    t1 = make_thread(open_space, amara, title="lobby talk", body="sharedword one")
    t2 = make_thread(closed, amara, title="circle talk", body="sharedword two")
    threads.set_follow(viewer, t1.id, True)
    threads.set_follow(viewer, t2.id, True)
    threads.reply(amara, t1.id, body="more")
    threads.reply(amara, t2.id, body="more")
    client = app.test_client()
    login(client, "Viewer")
    paths = ["/", "/spaces", "/updates", "/search?q=sharedword", f"/t/{t1.id}", f"/t/{t2.id}"]
    for space in (open_space, closed):
        paths += [f"/s/{space.slug}", f"/s/{space.slug}/members"]
    seen_rosa = seen_amara = False
    for path in paths:
        page = client.get(path).get_data(as_text=True)
        assert not ("Amara" in page and "Rosa" in page), path
        seen_rosa |= "Rosa" in page
        seen_amara |= "Amara" in page
    assert seen_rosa and seen_amara  # both names are shown, each in its own place
    # The moderators' request list shows only the name asked for.
    asker = make_account("Asker.Real")
    spaces.request_join(asker, closed.slug, "hi", "Asker.Other")
    login(client_o := app.test_client(), "Owner.One")
    page = client_o.get(f"/s/{closed.slug}/requests").get_data(as_text=True)
    assert "Asker.Other" in page and "Asker.Real" not in page


def test_name_collisions_are_explained(app, owner, make_account):
    space = make_space("open", owner=owner)
    rosa = make_account("Rosa")
    amara = make_account("Amara")
    other = make_account("Other")
    add_member(space, amara, space_alias="Mira")
    with pytest.raises(Conflict, match="already goes by"):
        spaces.join_open(other, space.slug, "MIRA")  # look-alike of a space alias
    with pytest.raises(Conflict, match="someone's alias"):
        spaces.join_open(other, space.slug, "Rosa")  # another account's everyday alias
    with pytest.raises(Invalid):
        spaces.join_open(other, space.slug, "admin")
    add_member(space, other, space_alias="Rosa.Two")
    # Someone whose everyday alias now clashes must pick a space name.
    clash = make_account("Rosa.Tw0")
    with pytest.raises(Conflict, match="looks like your alias"):
        spaces.join_open(clash, space.slug, "")
    spaces.join_open(clash, space.slug, "Blossom")
    spaces.join_open(rosa, space.slug, "rosa")  # your own alias as space name: just your alias
    assert (
        db.session.scalar(sa.select(Membership.space_alias).where(Membership.account_id == rosa.id))
        is None
    )


@pytest.mark.parametrize(
    "name", ["x" * 300, "a\u202eb", "zero\u200bwidth", "<script>", "ab", "a b", "🙂🙂🙂"]
)
def test_join_form_refuses_bad_space_names(app, owner, make_account, client, name):
    space = make_space("open", owner=owner)
    make_account("Joiner")
    login(client, "Joiner")
    response = post(client, f"/s/{space.slug}/join", {"space_alias": name})
    assert response.status_code == 400
    assert "<script>" not in response.get_data(as_text=True).split("</header>", 1)[1].replace(
        "&lt;script&gt;", ""
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 1


# --- roles, leaving, requests -----------------------------------------------------------


def test_last_owner_cannot_leave_until_handing_over(app, owner, make_account):
    space = make_space("closed", owner=owner)
    helper = add_member(space, make_account())
    with pytest.raises(Forbidden):
        spaces.leave(owner, space.slug)
    own = db.session.scalar(sa.select(Membership).where(Membership.account_id == owner.id))
    with pytest.raises(Forbidden):
        spaces.set_role(owner, space.slug, own.id, "member")
    spaces.set_role(owner, space.slug, helper.id, "owner")
    spaces.leave(owner, space.slug)
    assert db.session.get(Membership, own.id) is None


def test_moderators_cannot_appoint(app, owner, make_account):
    space = make_space("open", owner=owner)
    mod_account = make_account()
    add_member(space, mod_account, role="moderator")
    target = add_member(space, make_account())
    with pytest.raises(Forbidden):
        spaces.set_role(mod_account, space.slug, target.id, "moderator")
    with pytest.raises(Invalid):
        spaces.set_role(owner, space.slug, target.id, "emperor")


def test_join_request_with_question_and_approval(app, owner, make_account):
    space = make_space("closed", owner=owner, join_question="Why?")
    asker = make_account()
    with pytest.raises(Invalid):
        spaces.request_join(asker, space.slug, "   ")
    request = spaces.request_join(asker, space.slug, "I need support", "Quiet.One")
    with pytest.raises(Conflict):
        spaces.request_join(asker, space.slug, "again")
    membership = spaces.decide_request(owner, space.slug, request.id, True)
    assert membership.display_name == "Quiet.One"


@pytest.mark.parametrize("answer", ["x" * 1001, "a\x00b", 123])
def test_request_answer_refused(app, owner, make_account, answer):
    space = make_space("closed", owner=owner)
    with pytest.raises(Invalid):
        spaces.request_join(make_account(), space.slug, answer)


# --- threads and posts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"title": "", "body": "b"}, 400),
        ({"title": "t", "body": ""}, 400),
        ({"title": "x" * 151, "body": "b"}, 400),
        ({"title": "t", "body": "x" * 20_001}, 400),
        ({"title": "a\nb", "body": "b"}, 400),
        ({"title": "t\u202e", "body": "b"}, 400),
        ({"title": "t", "body": "b", "content_warning": "c" * 151}, 400),
        ({"title": "<script>alert(1)</script>", "body": "<script>alert(2)</script>"}, 303),
    ],
)
def test_thread_form_hostile_input(app, owner, client, form, status):
    space = make_space("open", owner=owner)
    login(client, "Owner.One")
    response = post(client, f"/s/{space.slug}/t/new", form)
    assert response.status_code == status
    if status == 400:
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Thread)) == 0
        assert 'class="flash flash-error"' in response.get_data(as_text=True)
        assert form["body"][:100] in response.get_data(as_text=True)  # what was typed is not lost
    else:
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "<script>" not in page and "&lt;script&gt;alert(2)" in page


def test_missing_csrf_is_refused(app, owner, client):
    space = make_space("open", owner=owner)
    login(client, "Owner.One")
    response = client.post(f"/s/{space.slug}/t/new", data={"title": "t", "body": "b"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Thread)) == 0


def test_edit_marks_edited_and_only_by_author(app, owner, make_account, client):
    space = make_space("open", owner=owner)
    other = make_account("Other.Person")
    add_member(space, other)
    t = make_thread(space, owner, body="original")
    first = db.session.scalar(sa.select(Post).where(Post.thread_id == t.id))
    with pytest.raises(Forbidden):
        threads.edit_post(other, first.id, body="hijack", title="x")
    login(client, "Owner.One")
    assert (
        post(client, f"/p/{first.id}/edit", {"title": "Better", "body": "changed"}).status_code
        == 303
    )
    page = client.get(f"/t/{t.id}").get_data(as_text=True)
    assert "changed" in page and 'class="edited"' in page and "Better" in page


def test_deleting_the_first_post(app, owner, make_account):
    space = make_space("open", owner=owner)
    other = make_account()
    add_member(space, other)
    lonely = make_thread(space, owner, title="Lonely", body="alone")
    busy = make_thread(space, owner, title="Busy", body="secret details")
    threads.reply(other, busy.id, body="a reply")

    def first(t):
        return db.session.scalar(sa.select(Post.id).where(Post.thread_id == t.id, Post.is_first))

    lonely_id, busy_id = lonely.id, busy.id
    assert threads.delete_post(owner, first(lonely)) is True
    assert db.session.get(Thread, lonely_id) is None
    assert threads.delete_post(owner, first(busy)) is False
    erased = db.session.scalar(sa.select(Post).where(Post.thread_id == busy_id, Post.is_first))
    assert (
        "secret" not in erased.body
        and erased.author_id is None
        and erased.author_name == "[deleted]"
    )
    assert db.session.get(Thread, busy_id).title == "Busy"
    assert len(list(db.session.scalars(sa.select(Post).where(Post.thread_id == busy_id)))) == 2


def test_locked_thread_takes_no_replies_and_pinned_goes_first(app, owner, make_account):
    space = make_space("open", owner=owner)
    member = make_account()
    add_member(space, member)
    a = make_thread(space, owner, title="A")
    b = make_thread(space, owner, title="B")
    actions.set_locked(owner, a.id, True)
    with pytest.raises(Forbidden):
        threads.reply(member, a.id, body="x")
    threads.reply(owner, a.id, body="moderators may")
    with pytest.raises(Forbidden):
        actions.set_pinned(member, b.id, True)
    actions.set_pinned(owner, a.id, True)
    threads.reply(member, b.id, body="bump")
    _acc, listing = threads.list_threads(member, space.slug)
    assert [t.title for t in listing.items] == ["A", "B"]


def test_content_warning_hides_body_in_details(app, owner, client):
    space = make_space("open", owner=owner)
    t = threads.create_thread(
        owner, space.slug, title="t", body="hard story", content_warning="violence"
    )
    login(client, "Owner.One")
    page = client.get(f"/t/{t.id}").get_data(as_text=True)
    assert re.search(
        r'<details class="cw"><summary>[^<]*violence</summary><div class="post-body"><p>hard story',
        page,
    )


def test_follow_and_updates(app, owner, make_account, client):
    space = make_space("closed", owner=owner)
    fan = make_account("Fan.One")
    add_member(space, fan)
    t = make_thread(space, owner, title="Followed thread")
    threads.set_follow(fan, t.id, True)
    assert threads.updates(fan).items == []
    threads.reply(owner, t.id, body="news")
    threads.reply(owner, t.id, body="more news")
    [update] = threads.updates(fan).items
    assert update.new_posts == 2
    login(client, "Fan.One")
    assert "Followed thread" in client.get("/").get_data(as_text=True)
    client.get(f"/t/{t.id}")  # reading marks them seen
    assert threads.updates(fan).items == []
    threads.reply(owner, t.id, body="even more")
    spaces.leave(fan, space.slug)  # after leaving, a closed space's updates stop
    assert threads.updates(fan).items == []


@pytest.mark.parametrize("page", ["0", "-1", "1000000000", "junk", "", "2"])
def test_pagination_bounds_everywhere(app, owner, make_account, client, page):
    space = make_space("open", owner=owner)
    t = make_thread(space, owner)
    for n in range(threads.POSTS_PER_PAGE + 1):
        threads.reply(owner, t.id, body=f"reply {n}")
    for n in range(threads.THREADS_PER_PAGE + 1):
        make_thread(space, owner, title=f"extra {n}")
    login(client, "Owner.One")
    for path in (
        f"/s/{space.slug}",
        f"/t/{t.id}",
        f"/s/{space.slug}/members",
        "/spaces",
        "/updates",
        f"/s/{space.slug}/invites",
        f"/s/{space.slug}/requests",
        "/orgs",
    ):
        assert client.get(path, query_string={"page": page}).status_code == 200, path
    _acc, first = threads.list_threads(owner, space.slug, 1)
    assert len(first.items) == threads.THREADS_PER_PAGE and first.has_next


def test_signals_fire_after_commit(app, owner):
    seen = []

    def record(name):
        def receiver(sender, **kw):
            seen.append((name, sender, kw.get("thread_id") or kw.get("space_id")))

        return receiver

    receivers = {
        sig: record(name)
        for name, sig in (
            ("thread", signals.thread_created),
            ("created", signals.post_created),
            ("edited", signals.post_edited),
            ("deleted", signals.post_deleted),
        )
    }
    for sig, receiver in receivers.items():
        sig.connect(receiver)
    try:
        space = make_space("open", owner=owner)
        t = make_thread(space, owner)
        reply = threads.reply(owner, t.id, body="r")
        threads.edit_post(owner, reply.id, body="r2")
        threads.delete_post(owner, reply.id)
    finally:
        for sig, receiver in receivers.items():
            sig.disconnect(receiver)
    assert [s[0] for s in seen] == ["thread", "created", "edited", "deleted"]


# --- account deletion ---------------------------------------------------------------------


@pytest.mark.parametrize("keep", [False, True])
def test_account_deletion_hook(app, owner, make_account, keep):
    space = make_space("open", owner=owner)
    leaver = make_account("Leaver")
    add_member(space, leaver)
    own = make_thread(space, leaver, title="Mine alone", body="leaver words")
    shared = make_thread(space, leaver, title="Shared", body="leaver first")
    threads.reply(owner, shared.id, body="owner reply")
    elsewhere = make_thread(space, owner, title="Owner thread")
    threads.reply(leaver, elsewhere.id, body="leaver reply")
    own_id, shared_id = own.id, shared.id
    accounts.delete_account(leaver, PASSPHRASE, keep_content=keep)
    bodies = set(db.session.scalars(sa.select(Post.body)))
    if keep:
        assert {"leaver words", "leaver first", "leaver reply"} <= bodies
        names = set(db.session.scalars(sa.select(Post.author_name).where(Post.author_id.is_(None))))
        assert names == {"[deleted]"}
    else:
        assert not {"leaver words", "leaver first", "leaver reply"} & bodies
        assert db.session.get(Thread, own_id) is None
        assert db.session.get(Thread, shared_id).author_name == "[deleted]"
        assert "owner reply" in bodies


# --- starter spaces ---------------------------------------------------------------------------


def test_starter_spaces_are_idempotent(app, runner):
    result = runner.invoke(args=["starter-spaces"])
    assert "Created 5" in result.output
    result = runner.invoke(args=["starter-spaces"])
    assert "Created 0" in result.output
    kinds = dict(db.session.execute(sa.select(Space.name, Space.kind)).all())
    assert kinds == {
        "Newcomers": "open",
        "Online workers": "open",
        "HIV+ peer support": "closed",
        "Safety & bad dates": "open",
        "Know your rights": "open",
    }
    hiv = db.session.scalar(sa.select(Space).where(Space.slug == "hiv-peer-support"))
    assert hiv.join_question and "outing" in hiv.rules.lower()
    rooms = db.session.scalars(sa.select(ChatRoom.name)).all()
    assert rooms == ["General"] * 5
    # `flask demo` makes them too: a missing one comes back, with its room.
    db.session.delete(hiv)
    db.session.commit()
    assert runner.invoke(args=["demo"]).exit_code == 0
    back = db.session.scalar(sa.select(Space.id).where(Space.slug == "hiv-peer-support"))
    assert back is not None
    assert db.session.scalars(sa.select(ChatRoom.name)).all() == ["General"] * 5
