"""The access matrix for lists: every list and search shows exactly what the
single-object checks allow, and never hidden, blocked or expired content.

Who: signed out, a stranger (signed in, in no space), a non-member (member of
another space), a removed member (removed by a moderator), a member, a moderator
and an instance admin. Kinds: open, closed, hidden. Each space holds a visible
thread with replies (one ordinary, one hidden by a moderator, one expired, one by
someone every reader there blocked, one by the removed member), a hidden thread, an
expired thread, a thread by the blocked person, and chat messages of the same sorts.

The expected answer for each item comes from the single-object checks
(``access_thread``, ``access_post``, moderation's ``targets.load``) and from the
blocks the test itself made; the lists (pages, search, updates, chat history and
live audiences) are then held to it, item by item, through their markers.
"""

from __future__ import annotations

import itertools
import string
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import access
from forum import clock
from forum import invites
from forum import orgs
from forum import sessions
from forum import spaces
from forum import threads
from forum.errors import Conflict
from forum.errors import NotFound
from forum.extensions import db
from forum.models import Account
from forum.models import Organisation
from forum.models import OrgStaff
from forum.models import Post
from forum.models import Space
from forum.models import Thread
from forum.models import ThreadFollow
from forum.safety import baddates
from forum.safety import buddies
from forum.safety import messages
from forum.safety import policy
from forum.safety import rights
from forum.safety.models import BadDateReport
from forum.safety.models import Buddy
from forum.safety.models import UrgentAlert
from moderation import actions
from moderation import appeals
from moderation import blocks
from moderation import flags
from moderation import notices as notices_
from moderation import targets
from moderation import watchwords
from moderation.models import ModAction
from moderation.models import Notice
from realtime import chat
from realtime import live
from realtime import sockets
from realtime.models import ChatMessage
from realtime.models import ChatRoom
from tests.backends import build_template
from tests.factories import add_member
from tests.factories import make_account
from tests.factories import make_space
from tests.support import login

ROLES = ("signedout", "stranger", "nonmember", "removed", "member", "moderator", "admin")
KINDS = ("open", "closed", "hidden")
SEARCH_WORD = "zebrafish"
WORLD: dict = {}
_tokens = itertools.count()


def _token() -> str:
    """A unique marker of letters only (digits could look like a phone number to the guard)."""
    n = next(_tokens)
    letters = "".join(string.ascii_lowercase[(n // 26**i) % 26] for i in range(3))
    return f"zq{letters}qz"


def _alias(role: str) -> str:
    return f"{role}vis"


# --- the world, built once --------------------------------------------------------------


@pytest.fixture(scope="module")
def db_template(backend, tmp_path_factory):
    """The world below, built once per backend (the build posts a lot at once)."""
    template, built = build_template(
        backend, tmp_path_factory.mktemp("listmatrix"), _build_world, RB_LIMITS_ENABLED=False
    )
    WORLD.clear()
    WORLD.update(built)
    return template


def _build_world() -> dict:
    people = {role: make_account(_alias(role), admin=role == "admin") for role in ROLES[1:]}
    for extra in ("owner", "writer", "blockee", "trusted", "orgstaff"):
        people[extra] = make_account(_alias(extra))
    elsewhere = make_space("open", owner=people["owner"], name="Elsewhere")
    add_member(elsewhere, people["nonmember"])
    tokens: dict[str, dict] = {"space": {}, "title": {}, "body": {}, "chat": {}, "rows": {}}
    blocked_in: set[tuple[str, str]] = set()
    for kind in KINDS:
        _build_space(kind, people, tokens, blocked_in)
    return {
        "ids": {name: account.id for name, account in people.items()},
        "tokens": tokens,
        "blocked_in": blocked_in,
    }


def _build_space(kind: str, people: dict, tokens: dict, blocked_in: set) -> None:
    name = _token()
    space = make_space(kind, owner=people["owner"], name=f"Space {name}")
    tokens["space"][name] = space.id
    for role in ("writer", "blockee", "member", "removed", "trusted"):
        add_member(space, people[role])
    if space.organisation_id is not None:  # staff of the hosting organisation, not a member
        db.session.add(
            OrgStaff(organisation_id=space.organisation_id, account_id=people["orgstaff"].id)
        )
        db.session.commit()
    add_member(space, people["moderator"], role="moderator")
    writer, blockee, moderator = people["writer"], people["blockee"], people["moderator"]

    def new_thread(author: Account) -> Thread:
        title, body = _token(), _token()
        made = threads.create_thread(
            author, space.slug, title=f"{title} {SEARCH_WORD}", body=f"{body} {SEARCH_WORD}"
        )
        tokens["title"][title] = made.id
        tokens["body"][body] = db.session.scalar(
            sa.select(Post.id).where(Post.thread_id == made.id)
        )
        return made

    def new_reply(author: Account, thread: Thread) -> Post:
        body = _token()
        made = threads.reply(author, thread.id, body=f"{body} {SEARCH_WORD}")
        tokens["body"][body] = made.id
        return made

    t_ok, t_hidden, t_expired, t_blocked = (
        new_thread(a) for a in (writer, writer, writer, blockee)
    )
    # Everyone who may read the space follows the visible threads before the replies come.
    for role in ("stranger", "nonmember", "removed", "member", "moderator", "admin"):
        for followed in (t_ok, t_blocked):
            try:
                threads.set_follow(people[role], followed.id, True)
            except NotFound:
                pass
    r_removed = new_reply(people["removed"], t_ok)  # first, so the replies below are new to them
    new_reply(writer, t_ok)
    r_hidden = new_reply(writer, t_ok)
    r_expired = new_reply(writer, t_ok)
    new_reply(blockee, t_ok)
    new_reply(writer, t_blocked)
    flagged = {"ok": t_ok.id, "expired": r_expired.id}
    for state, post_id in flagged.items():  # the review queue: one live item, one to expire
        if state == "ok":
            post_id = db.session.scalar(
                sa.select(Post.id).where(Post.thread_id == post_id, Post.is_first.is_(True))
            )
        flags.flag(people["member"], "post", post_id, "spam")
        tokens["rows"][_body_token(tokens, post_id)] = ("queue", space.id, state)
    actions.hide(moderator, space.slug, "thread", t_hidden.id, _logged(tokens, space))
    actions.hide(moderator, space.slug, "post", r_hidden.id, _logged(tokens, space))
    past = clock.now() - timedelta(minutes=5)
    t_expired.expires_at = past
    for row in db.session.scalars(sa.select(Post).where(Post.thread_id == t_expired.id)):
        row.expires_at = past
    r_expired.expires_at = past
    db.session.commit()

    room = db.session.scalar(
        sa.select(ChatRoom).where(ChatRoom.space_id == space.id).order_by(ChatRoom.id)
    )
    said = {}
    for label, author in (
        ("ok", writer),
        ("hidden", writer),
        ("expired", writer),
        ("blocked", blockee),
    ):
        body = _token()
        message, _new = chat.post_message(
            author, room.id, f"client-{body}", f"{body} {SEARCH_WORD}"
        )
        tokens["chat"][body] = message.id
        said[label] = message
    actions.hide(moderator, space.slug, "chat", said["hidden"].id, "test")
    said["expired"].expires_at = past
    db.session.commit()

    actions.remove_member(moderator, space.slug, "post", r_removed.id, _logged(tokens, space))
    _build_space_lists(space, people, tokens, appealed=r_hidden)
    # Every reader of the space blocks the blockee there (through an item they can see).
    for role in ("stranger", "nonmember", "removed", "member", "moderator", "admin"):
        try:
            blocks.block(people[role], "thread", t_blocked.id)
        except NotFound:
            continue
        except Conflict:
            pass  # blocks that reach further than one space already cover this one
        blocked_in.add((role, kind))


def _logged(tokens: dict, space: Space) -> str:
    """A moderator's reason, as a marker: on the space's log and in the author's notice."""
    token = _token()
    tokens["rows"][token] = ("log", space.id, "ok")
    return token


def _body_token(tokens: dict, post_id: int) -> str:
    return next(t for t, i in tokens["body"].items() if i == post_id)


def _build_space_lists(space: Space, people: dict, tokens: dict, appealed: Post) -> None:
    """The space's other lists, each with a marker per row (and rows no list may show)."""
    rows = tokens["rows"]
    owner, moderator, writer = people["owner"], people["moderator"], people["writer"]
    now, past = clock.now(), clock.now() - timedelta(minutes=5)

    def mark(name: str, state: str = "ok") -> str:
        token = _token()
        rows[token] = (name, space.id, state)
        return token

    invites.create_invite(owner, space.slug, label=mark("invites"))
    if space.kind == "closed":
        spaces.request_join(people["stranger"], space.slug, answer=mark("requests"))
    watchwords.add_word(moderator, space.slug, mark("words"), "flag")
    hide = db.session.scalar(
        sa.select(ModAction.id).where(
            ModAction.target_kind == "post", ModAction.target_id == appealed.id
        )
    )
    appeals.appeal(writer, hide, mark("appeals"))
    rights.create_page(moderator, space.slug, title=mark("pages"), body="What to know.")
    for state in ("ok", "hidden", "expired", "pending", "pending-hidden", "pending-own"):
        pending = state.startswith("pending")
        db.session.add(
            BadDateReport(
                space_id=space.id,
                author_id=(people["member"] if state == "pending-own" else writer).id,
                happened_on=now.date(),
                part_of_day="night",
                area=mark("reports", state),
                codes="VI",
                status="pending" if pending else "published",
                created_at=now,
                published_at=None if pending else now,
                expires_at=past if state == "expired" else now + timedelta(days=30),
                hidden_at=now if state.endswith("hidden") else None,
            )
        )
    for state in ("ok", "expired"):
        db.session.add(
            UrgentAlert(
                space_id=space.id,
                author_id=moderator.id,
                author_name="Mod",
                body=mark("alerts", state),
                created_at=now,
                expires_at=past if state == "expired" else now + timedelta(hours=5),
            )
        )
    db.session.commit()
    if space.kind != "closed":
        return
    pairing = Buddy(  # one pairing per two people: in the closed space
        requester_id=people["member"].id,
        invitee_id=writer.id,
        space_id=space.id,
        created_at=now,
        accepted_at=now,
    )
    db.session.add(pairing)
    db.session.commit()
    rows[f"buddy-{space.id}"] = ("buddy", space.id, pairing.id)
    for state in ("ok", "expired"):
        token = mark("dms", state)
        sent, _new = messages.send(people["member"], pairing.id, f"client-{token}", token)
        if state == "expired":
            sent.expires_at = past
    db.session.commit()


@pytest.fixture
def world(app):
    return WORLD


# --- the single-object answers ------------------------------------------------------------


def _viewer(role: str) -> Account | None:
    if role == "signedout":
        return None
    return db.session.get(Account, WORLD["ids"][role])


def _kind_of(space_id: int) -> str:
    return db.session.get(Space, space_id).kind


def _blocked(role: str, item: Thread | Post | ChatMessage) -> bool:
    """Did this test make ``role`` block the author of ``item`` in the item's space?"""
    return (
        item.author_id == WORLD["ids"]["blockee"]
        and (role, _kind_of(item.space_id)) in WORLD["blocked_in"]
    )


def _sees(check, *args) -> bool:
    try:
        check(*args)
    except NotFound:
        return False
    return True


def sees_thread(role: str, thread: Thread) -> bool:
    return _sees(access.access_thread, _viewer(role), thread.id)


def sees_post(role: str, post: Post) -> bool:
    return _sees(access.access_post, _viewer(role), post.id)


def sees_chat(role: str, message: ChatMessage) -> bool:
    return _sees(targets.load, _viewer(role), "chat", message.id)


def knows_space(role: str, space: Space) -> bool:
    return _sees(access.access_space_shell, _viewer(role), space.slug)


def reads_space(role: str, space: Space) -> bool:
    return _sees(access.access_space, _viewer(role), space.slug)


def is_member(role: str, space_id: int) -> bool:
    viewer = _viewer(role)
    return viewer is not None and access.membership_of(viewer, space_id) is not None


def _rows(model, tokens: dict) -> dict:
    """token -> row, for every row (expired ones included: the sweeper has not run)."""
    return {token: db.session.get(model, row_id) for token, row_id in tokens.items()}


def _shown(html: str, tokens) -> set[str]:
    return {token for token in tokens if token in html}


def _thread_visible(role: str, thread: Thread) -> bool:
    """What a list of threads may show: readable and not from someone the viewer blocked."""
    return sees_thread(role, thread) and not _blocked(role, thread)


def _post_listed(role: str, post: Post) -> bool:
    """A post in a list outside its own thread page: visible, not hidden, thread likewise."""
    thread = db.session.get(Thread, post.thread_id)
    return (
        sees_post(role, post)
        and post.hidden_at is None
        and thread.hidden_at is None
        and not _blocked(role, post)
        and not _blocked(role, thread)
    )


# --- the lists ----------------------------------------------------------------------------


def _client(app, role: str):
    client = app.test_client()
    if role != "signedout":
        login(client, _alias(role))
    return client


@pytest.mark.parametrize("role", ROLES)
def test_every_list_shows_what_single_objects_allow(app, world, role):
    client = _client(app, role)
    tokens = world["tokens"]
    spaces = {token: db.session.get(Space, space_id) for token, space_id in tokens["space"].items()}
    thread_rows, post_rows, chat_rows = (
        _rows(Thread, tokens["title"]),
        _rows(Post, tokens["body"]),
        _rows(ChatMessage, tokens["chat"]),
    )
    all_tokens = (
        set(tokens["space"]) | set(tokens["title"]) | set(tokens["body"]) | set(tokens["chat"])
    )

    pages = {"/spaces": None, f"/search?q={SEARCH_WORD}": None, "/updates": None}
    if role == "signedout":
        for path in pages:
            response = client.get(path)
            assert response.status_code == 302 and response.headers["Location"].startswith("/login")
        return

    # The space list: the spaces the "about / join" page would show.
    html = client.get("/spaces").get_data(as_text=True)
    assert _shown(html, tokens["space"]) == {
        t for t, space in spaces.items() if knows_space(role, space)
    }

    # Each space's thread list.
    for space in spaces.values():
        response = client.get(f"/s/{space.slug}")
        if not knows_space(role, space):
            assert response.status_code == 404
            continue
        html = response.get_data(as_text=True)
        expected = {
            t
            for t, row in thread_rows.items()
            if row.space_id == space.id and reads_space(role, space) and _thread_visible(role, row)
        }
        assert _shown(html, tokens["title"]) == expected, space.kind
        assert not _shown(html, set(tokens["body"]) | set(tokens["chat"]))

    # Each thread page: its posts.
    for thread in thread_rows.values():
        response = client.get(f"/t/{thread.id}")
        if not sees_thread(role, thread):
            assert response.status_code == 404
            continue
        html = response.get_data(as_text=True)
        expected = {
            t
            for t, post in post_rows.items()
            if post.thread_id == thread.id
            and sees_post(role, post)
            and not _blocked(role, post)
            and not _blocked(role, thread)
        }
        assert _shown(html, tokens["body"]) == expected

    # Search: members' spaces only, never hidden or blocked, whoever asks.
    html = client.get(f"/search?q={SEARCH_WORD}").get_data(as_text=True)
    hits = {
        t
        for t, post in post_rows.items()
        if is_member(role, post.space_id) and _post_listed(role, post)
    }
    assert _shown(html, tokens["body"]) == hits
    hit_threads = {post_rows[t].thread_id for t in hits}
    assert _shown(html, tokens["title"]) == {
        t for t, row in thread_rows.items() if row.id in hit_threads
    }
    assert not _shown(html, tokens["chat"])

    # Updates: followed threads with new replies the viewer may see.
    viewer = _viewer(role)
    follows = {
        f.thread_id: f.last_seen_post_id
        for f in db.session.scalars(
            sa.select(ThreadFollow).where(ThreadFollow.account_id == viewer.id)
        )
    }
    html = client.get("/updates").get_data(as_text=True)
    expected = set()
    for t, thread in thread_rows.items():
        if (
            thread.id not in follows
            or not _thread_visible(role, thread)
            or thread.hidden_at is not None
        ):
            continue
        if any(
            post.thread_id == thread.id
            and post.id > follows[thread.id]
            and _post_listed(role, post)
            for post in post_rows.values()
        ):
            expected.add(t)
    assert _shown(html, tokens["title"]) == expected
    assert not _shown(html, set(tokens["body"]) | set(tokens["chat"]))

    # Chat history, on the room page and through the resume service.
    for space in spaces.values():
        room = db.session.scalar(
            sa.select(ChatRoom).where(ChatRoom.space_id == space.id).order_by(ChatRoom.id)
        )
        response = client.get(f"/s/{space.slug}/chat/{room.id}")
        in_room = [m for m in chat_rows.values() if m.room_id == room.id]
        if not any(sees_chat(role, m) for m in in_room):  # chat is for members (and admins)
            assert response.status_code == (403 if reads_space(role, space) else 404)
            continue
        expected = {
            t
            for t, m in chat_rows.items()
            if m in in_room and sees_chat(role, m) and m.hidden_at is None and not _blocked(role, m)
        }
        assert _shown(response.get_data(as_text=True), tokens["chat"]) == expected
        _room, page, _through = chat.messages_after(viewer, room.id, 0)
        assert {t for t, m in chat_rows.items() if m in page.items} == expected

    assert all_tokens  # the markers exist: an empty world would pass every check above


def test_hidden_blocked_and_expired_are_in_no_list(app, world):
    """The same world from the other side: none of these markers is on any list page, for anyone."""
    tokens = world["tokens"]
    post_rows, thread_rows, chat_rows = (
        _rows(Post, tokens["body"]),
        _rows(Thread, tokens["title"]),
        _rows(ChatMessage, tokens["chat"]),
    )
    now = clock.now()
    gone = {
        t
        for t, row in {**post_rows, **thread_rows, **chat_rows}.items()
        if row.expires_at <= now or row.author_id == world["ids"]["blockee"]
    }
    hidden = {
        t
        for t, row in {**post_rows, **thread_rows, **chat_rows}.items()
        if row.hidden_at is not None
    }
    hidden |= {
        t
        for t, post in post_rows.items()
        if thread_rows_by_id(thread_rows)[post.thread_id].hidden_at
    }
    assert gone and hidden
    for role in ROLES[1:]:
        client = _client(app, role)
        paths = ["/spaces", f"/search?q={SEARCH_WORD}", "/updates"]
        for space_id in tokens["space"].values():
            space = db.session.get(Space, space_id)
            room = db.session.scalar(sa.select(ChatRoom.id).where(ChatRoom.space_id == space_id))
            paths += [f"/s/{space.slug}", f"/s/{space.slug}/chat/{room}"]
        for path in paths:
            html = client.get(path).get_data(as_text=True)
            assert not _shown(html, gone), (role, path)
            if role != "moderator" and role != "admin":
                assert not _shown(html, hidden), (role, path)
            elif not path.startswith("/s/") or "/chat/" in path:
                assert not _shown(html, hidden), (
                    role,
                    path,
                )  # moderators see hidden threads only in their list


def thread_rows_by_id(thread_rows: dict) -> dict:
    return {row.id: row for row in thread_rows.values()}


# --- live audiences ----------------------------------------------------------------------


def _connect(role: str) -> str:
    """A live socket for ``role`` (a real session row and socket record, as at connect)."""
    row, _token_value = sessions.new_session(_viewer(role))
    db.session.commit()
    sid = f"sid-{role}"
    sockets.register(sid, row)
    return sid


@pytest.mark.parametrize("kind", KINDS)
def test_live_audiences_follow_the_same_rules(app, world, kind):
    tokens = world["tokens"]
    post_rows = _rows(Post, tokens["body"])
    thread_rows = _rows(Thread, tokens["title"])
    space = next(db.session.get(Space, i) for i in tokens["space"].values() if _kind_of(i) == kind)
    people = ROLES[1:]
    sids = {role: _connect(role) for role in people}
    watched = {}
    for role in people:
        for thread in thread_rows.values():
            if thread.space_id == space.id and sees_thread(role, thread):
                live.watch_thread(_viewer(role), sids[role], thread.id)
                watched.setdefault(thread.id, set()).add(role)

    for post in post_rows.values():
        if post.space_id != space.id:
            continue
        thread = db.session.get(Thread, post.thread_id)
        public = sees_post("member", post)  # what an ordinary member of the space sees
        audience = live.update_audience(post.id)
        reply = live.new_reply_audience(post.id)
        if not public:
            assert audience is None and reply is None
            continue
        follows = {
            f.account_id: f.last_seen_post_id
            for f in db.session.scalars(
                sa.select(ThreadFollow).where(ThreadFollow.thread_id == thread.id)
            )
        }
        expected = {}
        for role in people:
            viewer = _viewer(role)
            if (
                viewer.id in follows
                and follows[viewer.id] < post.id
                and viewer.id != post.author_id
                and sees_post(role, post)
                and not _blocked(role, post)
                and not _blocked(role, thread)
            ):
                expected[viewer.id] = sum(
                    1
                    for p in post_rows.values()
                    if p.thread_id == thread.id
                    and p.id > follows[viewer.id]
                    and _post_listed(role, p)
                )
        _thread, _space, found = audience
        assert {f.account_id: f.new_posts for f in found} == expected
        _post, _page, skip = reply
        for role in watched.get(thread.id, ()):
            quiet = (
                _blocked(role, post) or _blocked(role, thread) or _viewer(role).id == post.author_id
            )
            assert (sids[role] in skip) == quiet, role

    for message_id in tokens["chat"].values():
        message = db.session.get(ChatMessage, message_id)
        if message.space_id != space.id:
            continue
        skipped = set(sockets.sids_blocking(message))
        for role in people:
            if sees_chat(role, message):
                assert (sids[role] in skipped) == _blocked(role, message), role


# --- every other list: a space's own lists, one's own lists, the safety tools ------------

LIST_ROLES = (
    "stranger",
    "nonmember",
    "removed",
    "member",
    "trusted",
    "moderator",
    "owner",
    "orgstaff",
    "admin",
)
# path, and what the single-object rules must allow: "read" (access_space), "part"
# (SpaceAccess.takes_part), "approve" (baddates.may_approve), or a role (has_role).
SPACE_LISTS = {
    "members": ("/s/{slug}/members", "read"),
    "invites": ("/s/{slug}/invites", "owner"),
    "requests": ("/s/{slug}/requests", "moderator"),
    "log": ("/s/{slug}/mod/log", "read"),
    "queue": ("/s/{slug}/mod/queue", "moderator"),
    "appeals": ("/s/{slug}/mod/appeals", "moderator"),
    "words": ("/s/{slug}/mod/words", "moderator"),
    "pages": ("/s/{slug}/pages", "read"),
    "reports": ("/s/{slug}/reports", "part"),
    "pending": ("/s/{slug}/reports/pending", "approve"),
    "alerts": ("/s/{slug}/alerts", "part"),
    "rooms": ("/s/{slug}/chat", "part"),
}


def _allowed(role: str, space: Space, need: str) -> bool:
    """What the single-object rules (forum/access.py) let ``role`` do in ``space``."""
    try:
        acc = access.access_space(_viewer(role), space.slug)
    except NotFound:
        return False
    if need == "read":
        return True
    if need == "part":
        return acc.takes_part
    if need == "approve":
        return acc.takes_part and baddates.may_approve(acc, clock.now())
    return acc.has_role(need)


def _row_shown(name: str, state: str, role: str) -> bool:
    """Which rows a list shows to someone allowed to see the list at all."""
    if name == "reports":
        return state == "ok" or (state == "pending-own" and role == "member")
    if name == "pending":
        return state in ("pending", "pending-own") or (
            state == "pending-hidden" and role in ("moderator", "owner", "admin")
        )
    return state == "ok"  # hidden and expired rows: never


@pytest.fixture
def trusted(monkeypatch):
    """The "trusted" persona at trust level 2 (the others at 0), as moderation would rate them."""
    trusted_id = WORLD["ids"]["trusted"]
    monkeypatch.setitem(
        policy._rules,
        "trust_level",
        lambda account, _membership, _now: 2 if account.id == trusted_id else 0,
    )


@pytest.mark.parametrize("role", LIST_ROLES)
def test_every_space_list_follows_the_single_object_rules(app, world, trusted, role):
    """Members, invites, join requests, the moderation log, review queue, appeals, watched
    words, rights pages, bad-date reports (published and pending) and urgent alerts: each
    answers only whom the single-object rules allow, and shows only its live, unhidden rows."""
    client = _client(app, role)
    rows = world["tokens"]["rows"]
    checked = 0
    for space_id in world["tokens"]["space"].values():
        space = db.session.get(Space, space_id)
        for name, (path, need) in SPACE_LISTS.items():
            response = client.get(path.format(slug=space.slug))
            html = response.get_data(as_text=True)
            mine = {t: row for t, row in rows.items() if row[0] == name and row[1] == space.id}
            if name == "pending":  # the pending list shows reports
                mine = {t: row for t, row in rows.items() if row[:2] == ("reports", space.id)}
            where = (role, space.kind, name)
            if not _allowed(role, space, need):
                assert response.status_code in (403, 404), where
                assert not _shown(html, mine), where
                if not _allowed(role, space, "read"):
                    assert response.status_code == 404, where  # as for a space not there
                continue
            assert response.status_code == 200, where
            expected = {t for t, row in mine.items() if _row_shown(name, row[2], role)}
            assert _shown(html, mine) == expected, where
            if name == "members":
                assert _alias("writer") in html and _alias("orgstaff") not in html, where
            checked += 1
    assert checked


@pytest.mark.parametrize("role", LIST_ROLES)
def test_ones_own_lists_show_ones_own_rows_only(app, world, role):
    """Notices, blocks, direct messages and organisations' staff lists: one's own rows only,
    live ones only; another person's conversation or organisation is not there."""
    client = _client(app, role)
    viewer = _viewer(role)
    rows = world["tokens"]["rows"]
    logged = {t for t, row in rows.items() if row[0] == "log"}
    own = db.session.scalars(
        sa.select(Notice).where(Notice.account_id == viewer.id, access.live(Notice.expires_at))
    ).all()
    notices = list(notices_.words(own).values())
    html = client.get("/notices").get_data(as_text=True)
    assert _shown(html, logged) == {t for t in logged if any(t in n for n in notices)}, role

    html = client.get("/account/blocks").get_data(as_text=True)
    blocked_any = any(r == role for r, _kind in world["blocked_in"])
    assert (_alias("blockee") in html) == blocked_any, role
    assert _alias("writer") not in html

    for key, (_name, space_id, pairing_id) in rows.items():
        if not key.startswith("buddy-"):
            continue
        said = {t: row for t, row in rows.items() if row[:2] == ("dms", space_id)}
        response = client.get(f"/buddies/{pairing_id}/messages")
        html = response.get_data(as_text=True)
        if _sees(buddies.access_buddy, viewer, pairing_id):
            assert response.status_code == 200
            assert _shown(html, said) == {t for t, row in said.items() if row[2] == "ok"}
        else:
            assert response.status_code == 404 and not _shown(html, said), role
    html = client.get("/buddies").get_data(as_text=True)
    assert (_alias("writer") in html) == (role == "member"), role  # member's pairings only

    for space_id in world["tokens"]["space"].values():
        space = db.session.get(Space, space_id)
        if space.organisation_id is None:
            continue
        org = db.session.get(Organisation, space.organisation_id)
        response = client.get(f"/orgs/{org.slug}")
        html = response.get_data(as_text=True)
        if _sees(orgs.access_org, viewer, org.slug):
            assert response.status_code == 200 and _alias("orgstaff") in html, role
        else:
            assert response.status_code == 404 and _alias("orgstaff") not in html, role


def test_every_list_is_in_a_matrix(app):
    """A new list page must join one of the tables above (or the lists of the first test)."""
    covered = {path.split("{slug}")[-1] for path, _need in SPACE_LISTS.values()}
    listed = {
        rule.rule.split("<slug>")[-1]
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/s/<slug>/")
        and "GET" in rule.methods
        and "<" not in rule.rule.split("<slug>")[-1]
        and not rule.rule.endswith(("/new", "/edit", "/settings", "/retention", "/join"))
        and not rule.rule.endswith("-settings")
    }
    assert listed <= covered, sorted(listed - covered)


# --- an organisation's page ---------------------------------------------------------------


def test_org_page_lists_only_spaces_its_staff_may_know(app):
    """Staff of one organisation: a hidden space a colleague made (without them) is a 404 to
    them, so its name is not on the organisation's page either; closed ones are."""
    admin = make_account("Orgadmin", admin=True)
    maker, colleague = make_account("Makerstaff"), make_account("Colleague")
    org = orgs.create_org(admin, name="Night Clinic")
    for person in (maker, colleague):
        orgs.add_staff(admin, org.slug, person.alias)
    secret = orgs.create_org_space(maker, org.slug, name="Secret circle", kind="hidden")
    shared = orgs.create_org_space(maker, org.slug, name="Quiet room", kind="closed")
    for alias, sees_secret in (("Colleague", False), ("Makerstaff", True), ("Orgadmin", True)):
        client = app.test_client()
        login(client, alias)
        html = client.get(f"/orgs/{org.slug}").get_data(as_text=True)
        assert shared.name in html
        assert (secret.name in html) == sees_secret
        assert (client.get(f"/s/{secret.slug}").status_code == 200) == sees_secret
