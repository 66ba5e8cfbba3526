"""Moderation wired into the forum: buttons, read paths, write checks, signals, mute.

Pages are checked by their bodies, with a unique marker word per piece of content,
so "absent" means absent from the HTML, not just from a list in Python.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import clock as clock_module
from forum import signals
from forum.extensions import db
from forum.models import Account
from forum.models import Post
from forum.models import Thread
from forum.models import ThreadFollow
from moderation.models import Appeal
from moderation.models import Block
from moderation.models import Flag
from moderation.models import ModAction
from moderation.models import Notice
from moderation.models import WatchWord
from tests import factories
from tests.factories import add_member
from tests.factories import make_post
from tests.factories import make_space
from tests.factories import make_thread
from tests.factories import season
from tests.support import count_rows
from tests.support import ids_follow_the_largest
from tests.support import post
from tests.support import signed_in
from tests.support import with_text


def body(response) -> str:
    return response.get_data(as_text=True)


def results(client, query: str) -> str:
    """The search page after its form (the form echoes the query)."""
    page = body(client.get(f"/search?q={query}"))
    return page.split('role="search"', 1)[1].split("</form>", 1)[1].split("<footer", 1)[0]


# --- 1. Buttons and routes on posts and threads: the matrix ----------------------------

PERSONAS = ("visitor", "nonmember", "member", "author", "moderator", "admin")


@pytest.fixture
def world(app, make_account):
    people = {
        "nonmember": make_account("Nina"),
        "member": make_account("Memo"),
        "author": make_account("Auda"),
        "moderator": make_account("Modi"),
        "admin": make_account("Adam", admin=True),
    }
    content = {}
    for kind in ("open", "closed", "hidden"):
        space = make_space(kind, slug=f"w-{kind}")
        add_member(space, people["member"])
        add_member(space, people["author"])
        add_member(space, people["moderator"], "moderator")
        thread = make_thread(space, people["author"], title=f"Title {kind}", body="first words")
        reply = make_post(thread, people["author"], "a reply of theirs")
        content[kind] = (space, thread, reply)
    clients = {"visitor": app.test_client()}
    for name, account in people.items():
        clients[name] = signed_in(app, account.alias)
    return content, clients


@pytest.mark.parametrize("target_kind", ["post", "thread"])
@pytest.mark.parametrize("space_kind", ["open", "closed", "hidden"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_moderation_buttons_and_routes_matrix(world, persona, space_kind, target_kind):
    content, clients = world
    space, thread, reply = content[space_kind]
    target_id = reply.id if target_kind == "post" else thread.id
    client = clients[persona]
    flag_path, block_path = f"/flag/{target_kind}/{target_id}", f"/block/{target_kind}/{target_id}"
    hidden_from = persona == "nonmember" and space_kind != "open"

    page = client.get(f"/t/{thread.id}")
    if persona == "visitor":
        assert page.status_code == 302 and "/login" in page.headers["Location"]
        assert client.get(flag_path).status_code == 302
        assert post(client, block_path).status_code == 302
        return
    if hidden_from:
        assert page.status_code == 404
        assert client.get(flag_path).status_code == 404
        assert post(client, block_path).status_code == 404
        assert post(client, flag_path, {"reason": "spam"}).status_code == 404
        assert count_rows(Block) == 0 and count_rows(Flag) == 0
        return
    assert page.status_code == 200
    html = body(page)
    queue_link = f'href="/s/{space.id}/mod/queue"'
    assert (queue_link in html) == (persona in ("moderator", "admin"))
    if persona == "author":
        assert f'href="{flag_path}"' not in html and f'action="{block_path}"' not in html
        assert f'href="/p/{reply.id}/edit"' in html
        assert post(client, block_path).status_code == 400  # "You can't block yourself."
        assert post(client, flag_path, {"reason": "spam"}).status_code == 403
        assert count_rows(Block) == 0 and count_rows(Flag) == 0
        return
    assert f'href="{flag_path}"' in html
    form = html.split(f'action="{block_path}"')[1].split("</form>")[0]
    assert "data-confirm=" in form and 'name="csrf_token"' in form and "Block this person" in form
    assert f'href="/p/{reply.id}/edit"' not in html
    flag_page = client.get(flag_path)
    assert flag_page.status_code == 200 and 'name="reason"' in body(flag_page)
    flagged = post(client, flag_path, {"reason": "spam"})
    assert flagged.status_code == 303
    # Back where the flag was raised: the post (by its anchor) or the thread.
    anchor = f"#p{reply.id}" if target_kind == "post" else ""
    assert flagged.headers["Location"].endswith(f"/t/{thread.id}{anchor}")
    assert (
        db.session.scalar(sa.select(Flag.target_kind).where(Flag.target_id == target_id))
        == target_kind
    )
    assert post(client, block_path).status_code == 303
    author = db.session.scalar(sa.select(Account).where(Account.alias == "Auda"))
    assert db.session.scalar(sa.select(Block.blocked_id)) == author.id


def test_pages_never_show_the_authors_account_id(app, make_account, clock):
    # A distinctive id: an account row placed just below it makes the author's id 7654321.
    db.session.add(
        Account(
            id=7654320,
            alias="filler",
            alias_key="filler",
            passphrase_hash="x",
            created_at=clock.now(),
        )
    )
    db.session.commit()
    ids_follow_the_largest(Account)
    author = make_account("Auda")
    assert author.id == 7654321
    reader = make_account("Memo")
    space = make_space(slug="ids")
    add_member(space, author)
    add_member(space, reader, "moderator")
    thread = make_thread(space, author, title="Plain title")
    make_post(thread, author, "plain reply")
    client = signed_in(app, "Memo")
    for path in (
        f"/t/{thread.id}",
        "/s/ids",
        f"/flag/post/{thread.id}",
        f"/flag/thread/{thread.id}",
        "/s/ids/mod/queue",
        "/search?q=plain",
    ):
        assert "7654321" not in body(client.get(path)), path


# --- 2. Read paths: hidden and blocked content ----------------------------------------


@pytest.fixture
def den(app, make_account, clock):
    space = make_space(slug="den")
    people = {a: make_account(a) for a in ("Mina", "Fred", "Ana", "Bea")}
    add_member(space, people["Mina"], "moderator")
    for alias in ("Fred", "Ana", "Bea"):
        add_member(space, people[alias])
    return space, people


def follow(account: Account, thread: Thread) -> None:
    """Follow from now on: only later posts are updates."""
    last_seen = (
        db.session.scalar(sa.select(sa.func.max(Post.id)).where(Post.thread_id == thread.id)) or 0
    )
    db.session.merge(
        ThreadFollow(account_id=account.id, thread_id=thread.id, last_seen_post_id=last_seen)
    )
    db.session.commit()


def pages(client, thread: Thread, query: str) -> dict[str, str]:
    pages = {  # updates first: opening the thread marks it seen
        "updates": body(client.get("/updates")),
        "home": body(client.get("/")),
    }
    pages.update(
        space=body(client.get("/s/den")),
        thread=body(client.get(f"/t/{thread.id}")),
        search=results(client, query),
    )
    return pages


def test_hidden_post_shows_only_to_moderators_and_its_author(app, den, clock):
    space, people = den
    thread = make_thread(space, people["Mina"], title="Open talk", body="opening words")
    follow(people["Bea"], thread)
    hidden = make_post(thread, people["Fred"], "quokkamarker words")
    make_post(thread, people["Ana"], "wombatmarker words")
    # Hidden by members' flags: a moderation action exists to appeal.
    hidden.hidden_at = clock.now()
    action = ModAction(
        space_id=space.id,
        action="auto_hide",
        target_kind="post",
        target_id=hidden.id,
        target_account_id=people["Fred"].id,
        target_name="Fred",
        created_at=clock.now(),
    )
    db.session.add(action)
    db.session.commit()

    bea = pages(signed_in(app, "Bea"), thread, "quokkamarker")
    for name, html in bea.items():
        assert "quokkamarker" not in html, name
    assert "wombatmarker" in bea["thread"]
    assert "1 new reply" in bea["updates"]  # the visible reply counts, the hidden one does not
    assert "wombatmarker" in results(signed_in(app, "Bea"), "wombatmarker")  # positive control

    fred = body(signed_in(app, "Fred").get(f"/t/{thread.id}"))
    assert "quokkamarker" in fred and "Only you and the moderators can see this." in fred
    assert f'href="/s/{space.id}/mod/appeal/{action.id}"' in fred
    assert "hidden pending review" not in fred

    mina = body(signed_in(app, "Mina").get(f"/t/{thread.id}"))
    assert "quokkamarker" in mina and "hidden pending review" in mina
    assert f"/mod/appeal/{action.id}" not in mina


def test_held_post_without_an_action_says_it_waits(app, den, clock):
    space, people = den
    thread = make_thread(space, people["Mina"])
    held = make_post(thread, people["Fred"], "heldmarker")
    held.hidden_at = clock.now()
    db.session.commit()
    fred = body(signed_in(app, "Fred").get(f"/t/{thread.id}"))
    assert "heldmarker" in fred and "waiting for a moderator" in fred and "/mod/appeal/" not in fred


def test_hidden_thread_is_absent_except_for_moderators(app, den, clock):
    space, people = den
    thread = make_thread(
        space, people["Fred"], title="Platypusmarker title", body="echidnamarker body"
    )
    for alias in ("Fred", "Ana"):
        follow(people[alias], thread)
    make_post(thread, people["Bea"], "later reply")
    thread.hidden_at = clock.now()
    db.session.commit()
    for alias in ("Ana", "Fred"):  # the thread's author too: hidden threads are for moderators only
        client = signed_in(app, alias)
        got = pages(client, thread, "platypusmarker")
        assert got["thread"].count("platypusmarker") == 0 and "could not find" in got["thread"]
        for name in ("space", "updates", "home"):
            assert "Platypusmarker" not in got[name], (alias, name)
        assert "Platypusmarker" not in got["search"]
        assert "echidnamarker" not in results(client, "echidnamarker")
    mina = signed_in(app, "Mina")
    space_page = body(mina.get("/s/den"))
    assert "Platypusmarker" in space_page and "hidden pending review" in space_page
    assert "hidden pending review" in body(mina.get(f"/t/{thread.id}"))


def test_blocked_persons_content_is_hidden_for_the_blocker_everywhere(app, den, clock):
    space, people = den
    own = make_thread(space, people["Fred"], title="Narwhalmarker title", body="narwhalbody words")
    talk = make_thread(space, people["Mina"], title="Group talk", body="opening words")
    follow(people["Ana"], talk)
    follow(people["Ana"], own)
    before = make_post(talk, people["Bea"], "beforemarker")
    fred_reply = make_post(talk, people["Fred"], "axolotlmarker reply")
    make_post(talk, people["Fred"], "axolotlmarker again")
    make_post(talk, people["Bea"], "aftermarker")
    ana = signed_in(app, "Ana")
    assert post(ana, f"/block/post/{fred_reply.id}").status_code == 303

    updates = body(ana.get("/updates"))  # before the thread pages mark them seen
    assert "Narwhalmarker" not in updates
    assert "2 new replies" in updates  # Bea's two replies; Fred's two are not counted
    assert "Narwhalmarker" not in body(ana.get("/"))
    space_page = body(ana.get("/s/den"))
    assert "Narwhalmarker" not in space_page and "Group talk" in space_page
    thread_page = body(ana.get(f"/t/{talk.id}"))
    assert "axolotlmarker" not in thread_page
    assert "2 posts from people you blocked are hidden." in thread_page
    assert (
        thread_page.index("beforemarker")
        < thread_page.index("blocked are hidden")
        < thread_page.index("aftermarker")
    )
    own_page = ana.get(f"/t/{own.id}")
    assert own_page.status_code == 200
    assert "Narwhalmarker" not in body(own_page) and "narwhalbody" not in body(own_page)
    assert "someone you blocked" in body(own_page)
    for word in ("axolotlmarker", "narwhalmarker", "narwhalbody"):
        assert word not in results(ana, word), word
    # Page numbers stay as everyone else sees them: the last page is the same.
    assert ana.get(f"/t/{talk.id}?page=2").status_code == 200

    # Positive control: Bea, who blocked nobody, sees it all.
    bea = signed_in(app, "Bea")
    assert "Narwhalmarker" in body(bea.get("/s/den"))
    assert body(bea.get(f"/t/{talk.id}")).count("axolotlmarker") == 2
    assert "axolotlmarker" in results(bea, "axolotlmarker")
    assert before.id


def test_one_blocked_post_reads_in_the_singular(app, den):
    space, people = den
    talk = make_thread(space, people["Mina"], title="Group talk")
    target = make_post(talk, people["Fred"], "solo")
    ana = signed_in(app, "Ana")
    assert post(ana, f"/block/post/{target.id}").status_code == 303
    assert "1 post from someone you blocked is hidden." in body(ana.get(f"/t/{talk.id}"))


def test_thread_page_queries_stay_bounded(app, den):
    """More posts, blocked and hidden ones among them, cost no extra queries (no per-row work)."""
    space, people = den
    talk = make_thread(space, people["Mina"], title="Busy")
    first = make_post(talk, people["Fred"], "one")
    ana = signed_in(app, "Ana")
    assert post(ana, f"/block/post/{first.id}").status_code == 303
    statements: list[str] = []

    def listener(*args) -> None:
        statements.append(args[2])

    def queries() -> int:
        statements.clear()
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert ana.get(f"/t/{talk.id}").status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    few = queries()
    for i in range(18):
        reply = make_post(talk, people["Bea"] if i % 2 else people["Fred"], f"post {i}")
        if i % 3 == 0:
            reply.hidden_at = clock_module.now()
    db.session.commit()
    assert queries() == few


# --- 3. Writes: watched words, links from new accounts, the privacy guard ------------


@pytest.fixture
def room(app, make_account):
    space = make_space(slug="room")
    mod, writer, reader = make_account("Mina"), make_account("Wren"), make_account("Rhea")
    add_member(space, mod, "moderator")
    add_member(space, writer)
    add_member(space, reader)
    thread = make_thread(space, mod, title="Chat here", body="say hello")
    return space, thread


def words(space, **patterns) -> None:
    for action, pattern in patterns.items():
        db.session.add(
            WatchWord(
                space_id=space.id, pattern=pattern, action=action, created_at=clock_module.now()
            )
        )
    db.session.commit()


NEW_THREAD = "/s/room/t/new"


@pytest.mark.parametrize(
    "text", ["badword here", "BADWORD", "ｂａｄｗｏｒｄ", "bad\u200bword", "bádword"]
)
@pytest.mark.parametrize("field", ["title", "body", "content_warning"])
def test_blocked_words_refuse_with_a_clear_message(app, room, text, field):
    space, _thread = room
    words(space, block="badword")
    form = {"title": "A title", "body": "A body", "content_warning": ""}
    form[field] = text
    response = post(signed_in(app, "Wren"), NEW_THREAD, form)
    assert response.status_code == 400
    assert "moderators" in body(response) and "badword" in body(response)
    assert count_rows(Thread) == 1 and count_rows(Flag) == 0


def test_held_thread_is_stored_hidden_flagged_and_the_author_told(app, room):
    space, _thread = room
    words(space, hold="holdme")
    wren = signed_in(app, "Wren")
    response = post(wren, NEW_THREAD, {"title": "Quietmarker title", "body": "please holdme"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/s/{space.id}")
    assert "waiting for a moderator" in body(wren.get("/s/room"))
    thread = with_text(Thread, "title", "Quietmarker title")[0]
    assert thread.hidden_at is not None
    flag = db.session.scalar(
        sa.select(Flag).where(Flag.target_kind == "thread", Flag.target_id == thread.id)
    )
    assert flag.flagger_id is None and flag.weight == 0 and "holdme" in flag.note
    assert "waiting for a moderator" in body(wren.get("/notices"))
    assert "Quietmarker" not in body(signed_in(app, "Rhea").get("/s/room"))
    mina = signed_in(app, "Mina")
    assert "Quietmarker" in body(mina.get("/s/room/mod/queue"))
    # The moderator keeps it: it shows.
    assert (
        post(
            mina, "/s/room/mod/act", {"action": "keep", "kind": "thread", "id": str(thread.id)}
        ).status_code
        == 303
    )
    assert "Quietmarker" in body(signed_in(app, "Rhea").get("/s/room"))


def test_held_reply_is_hidden_but_its_author_sees_it(app, room):
    space, thread = room
    words(space, hold="holdme")
    received = []
    receiver = lambda sender, **kw: received.append(sender)  # noqa: E731
    signals.post_created.connect(receiver)
    try:
        response = post(
            signed_in(app, "Wren"), f"/t/{thread.id}/reply", {"body": "gerbilmarker holdme"}
        )
    finally:
        signals.post_created.disconnect(receiver)
    assert response.status_code == 303
    assert received == []  # nothing announced to live pages while it is held
    stored = with_text(Post, "body", "gerbilmarker holdme")[0]
    assert stored.hidden_at is not None
    wren = body(signed_in(app, "Wren").get(f"/t/{thread.id}"))
    assert "gerbilmarker" in wren and "waiting for a moderator" in wren
    assert "gerbilmarker" not in body(signed_in(app, "Rhea").get(f"/t/{thread.id}"))


def test_flag_word_stores_visibly_and_queues_it(app, room):
    space, thread = room
    words(space, flag="iffy")
    assert (
        post(signed_in(app, "Wren"), f"/t/{thread.id}/reply", {"body": "a bit iffy"}).status_code
        == 303
    )
    stored = with_text(Post, "body", "a bit iffy")[0]
    assert stored.hidden_at is None
    assert db.session.execute(
        sa.select(Flag.note, Flag.note_code).where(Flag.target_id == stored.id)
    ).one() == ("iffy", "watch_flag")
    assert "a bit iffy" in body(signed_in(app, "Rhea").get(f"/t/{thread.id}"))


def test_edit_into_a_held_word_hides_the_post(app, room):
    space, thread = room
    words(space, hold="holdme")
    mine = make_post(
        thread, db.session.scalar(sa.select(Account).where(Account.alias == "Wren")), "fine words"
    )
    hidden = []
    receiver = lambda sender, **kw: hidden.append(kw)  # noqa: E731
    signals.content_hidden.connect(receiver)
    try:
        response = post(signed_in(app, "Wren"), f"/p/{mine.id}/edit", {"body": "now holdme"})
    finally:
        signals.content_hidden.disconnect(receiver)
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Post, mine.id).hidden_at is not None
    assert hidden and hidden[0]["kind"] == "post" and hidden[0]["id"] == mine.id


def test_first_post_edit_with_a_held_title_holds_the_thread(app, room):
    space, _thread = room
    words(space, hold="holdme")
    wren = signed_in(app, "Wren")
    assert post(wren, NEW_THREAD, {"title": "Fine title", "body": "fine body"}).status_code == 303
    thread = with_text(Thread, "title", "Fine title")[0]
    first = db.session.scalar(sa.select(Post).where(Post.thread_id == thread.id))
    response = post(wren, f"/p/{first.id}/edit", {"title": "Now holdme", "body": "fine body"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/s/{space.id}")
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).hidden_at is not None
    assert db.session.get(Post, first.id).hidden_at is None
    assert "Now holdme" not in body(signed_in(app, "Rhea").get("/s/room"))


LINKS = [
    "see https://evil.example/x",
    "HTTPS://EVIL.EXAMPLE",
    "go to www.spam.com today",
    "go to www.ｓｐａｍ.com",
    "write to mailto:someone@example.org",
    "[click here](https://a.example)",
    "![pic](https://tracker.example/p.png)",
    "<https://auto.example>",
    "[ref][r]\n\n[r]: https://ref.example",
]


@pytest.mark.parametrize("text", LINKS)
def test_new_accounts_cannot_post_links(app, room, text):
    _space, thread = room
    wren = signed_in(app, "Wren")
    response = post(wren, f"/t/{thread.id}/reply", {"body": text})
    assert response.status_code == 403
    html = body(response)
    assert (
        "New accounts can&#39;t post links yet" in html
        and "3 days old" in html
        and "5 posts" in html
    )
    assert count_rows(Post) == 1
    assert post(wren, NEW_THREAD, {"title": "t", "body": text}).status_code == 403
    assert count_rows(Thread) == 1


@pytest.mark.parametrize(
    "text", ["hxxp://not-a-link", "`https://in.code`", "[x](javascript:alert(1))", "[x]()"]
)
def test_text_the_renderer_does_not_link_is_not_a_link(app, room, text):
    _space, thread = room
    assert post(signed_in(app, "Wren"), f"/t/{thread.id}/reply", {"body": text}).status_code == 303


def test_links_lift_once_the_account_has_taken_part(app, room, clock):
    _space, thread = room
    wren = db.session.scalar(sa.select(Account).where(Account.alias == "Wren"))
    season(wren, thread)
    client = signed_in(app, "Wren")
    assert (
        post(client, f"/t/{thread.id}/reply", {"body": "see https://ok.example"}).status_code == 303
    )
    # An email address is a link to the renderer; once links are allowed, the guard still asks.
    response = post(client, f"/t/{thread.id}/reply", {"body": "mail someone.private@example.com"})
    assert response.status_code == 422 and "This looks like an email address" in body(response)


def test_links_in_an_edit_are_refused_and_the_post_kept(app, room):
    _space, thread = room
    wren = db.session.scalar(sa.select(Account).where(Account.alias == "Wren"))
    mine = make_post(thread, wren, "kept words")
    assert (
        post(
            signed_in(app, "Wren"), f"/p/{mine.id}/edit", {"body": "https://x.example"}
        ).status_code
        == 403
    )
    db.session.expire_all()
    assert db.session.get(Post, mine.id).body == "kept words"


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        ("body", "call me on 07700 900123 tonight", "This looks like a phone number: 07700 900…"),
        (
            "body",
            "mail me at someone.private at example dot com",
            "This looks like an email address: someone.private at exam",
        ),
        ("title", "Ask for flat at 221B Baker Street", "This looks like an address: 221B Baker"),
        ("content_warning", "+44 7700 900123", "This looks like a phone number: +44 7700 900…"),
    ],
)
def test_guard_asks_before_a_thread_with_identifiers_is_stored(app, room, field, text, expected):
    form = {"title": "A title", "body": "A body", "content_warning": ""}
    form[field] = text
    wren = signed_in(app, "Wren")
    response = post(wren, NEW_THREAD, form)
    assert response.status_code == 422
    html = body(response)
    assert expected in html and 'name="confirm_identifiers"' in html and "Post it anyway" in html
    assert text.split()[0] in html  # what they typed is kept in the form
    assert count_rows(Thread) == 1
    # Junk in the checkbox is not a "yes".
    assert post(wren, NEW_THREAD, {**form, "confirm_identifiers": "<script>"}).status_code == 422
    assert count_rows(Thread) == 1
    assert post(wren, NEW_THREAD, {**form, "confirm_identifiers": "1"}).status_code == 303
    assert count_rows(Thread) == 2


def test_guard_on_replies_and_edits(app, room):
    _space, thread = room
    wren = signed_in(app, "Wren")
    text = "my number is 07700 900123"
    response = post(wren, f"/t/{thread.id}/reply", {"body": text})
    assert (
        response.status_code == 422
        and "07700 900…" in body(response)
        and "Post it anyway" in body(response)
    )
    assert count_rows(Post) == 1
    assert (
        post(wren, f"/t/{thread.id}/reply", {"body": text, "confirm_identifiers": "1"}).status_code
        == 303
    )
    mine = with_text(Post, "body", text)[0]
    edit = post(wren, f"/p/{mine.id}/edit", {"body": "now at 221B Baker Street"})
    assert edit.status_code == 422 and "Post it anyway" in body(edit)
    db.session.expire_all()
    assert db.session.get(Post, mine.id).body == text


def test_screening_order_block_then_links_then_guard(app, room):
    space, thread = room
    words(space, block="badword")
    wren = signed_in(app, "Wren")
    everything = "badword https://x.example 07700 900123"
    assert post(wren, f"/t/{thread.id}/reply", {"body": everything}).status_code == 400
    assert post(wren, f"/t/{thread.id}/reply", {"body": everything[8:]}).status_code == 403
    assert post(wren, f"/t/{thread.id}/reply", {"body": "07700 900123"}).status_code == 422
    assert count_rows(Post) == 1


@pytest.mark.parametrize(
    "form",
    [
        {"body": "x" * 20_001},
        {"body": "\u202eevil"},
        {"body": ""},
        {"body": "<script>alert(1)</script> 07700 900123"},
        {"body": "ok", "content_warning": "c" * 151},
    ],
)
def test_hostile_reply_forms(app, room, form):
    _space, thread = room
    response = post(signed_in(app, "Wren"), f"/t/{thread.id}/reply", form)
    assert 400 <= response.status_code < 500
    assert "<script>alert(1)</script>" not in body(response)
    assert count_rows(Post) == 1


def test_missing_csrf_on_thread_forms(app, room):
    _space, thread = room
    wren = signed_in(app, "Wren")
    assert (
        wren.post(
            f"/t/{thread.id}/reply", data={"body": "x", "confirm_identifiers": "1"}
        ).status_code
        == 400
    )
    assert wren.post(NEW_THREAD, data={"title": "t", "body": "x"}).status_code == 400
    assert count_rows(Post) == 1


# --- 4. Membership signals ---------------------------------------------------------------


def test_leaving_a_space_sends_member_removed_after_commit(app, room):
    space, _thread = room
    rhea = db.session.scalar(sa.select(Account).where(Account.alias == "Rhea"))
    seen = []

    def receiver(sender, **kw) -> None:
        from forum.models import Membership

        still = db.session.scalar(
            sa.select(Membership.id).where(
                Membership.account_id == kw["account_id"], Membership.space_id == sender
            )
        )
        seen.append((sender, kw, still))

    signals.member_removed.connect(receiver)
    try:
        assert post(signed_in(app, "Rhea"), "/s/room/leave").status_code == 303
        assert (
            post(signed_in(app, "Rhea"), "/s/room/leave").status_code == 409
        )  # not a member: no signal
    finally:
        signals.member_removed.disconnect(receiver)
    assert seen == [(space.id, {"account_id": rhea.id}, None)]


def test_only_owner_cannot_leave_and_no_signal(app, make_account):
    owner = make_account("Olga")
    factories.make_space("open", owner=owner, name="Solo space")
    seen = []
    receiver = lambda sender, **kw: seen.append(kw)  # noqa: E731
    signals.member_removed.connect(receiver)
    try:
        assert post(signed_in(app, "Olga"), "/s/solo-space/leave").status_code == 403
    finally:
        signals.member_removed.disconnect(receiver)
    assert seen == []


# --- 5. Mute -------------------------------------------------------------------------------


def test_muted_member_cannot_post_by_http(app, room, clock):
    _space, thread = room
    from forum.models import Membership

    wren = db.session.scalar(sa.select(Account).where(Account.alias == "Wren"))
    membership = db.session.scalar(sa.select(Membership).where(Membership.account_id == wren.id))
    membership.muted_until = clock.now() + timedelta(hours=1)
    db.session.commit()
    client = signed_in(app, "Wren")
    assert client.get(NEW_THREAD).status_code == 403
    response = post(client, NEW_THREAD, {"title": "t", "body": "b"})
    assert response.status_code == 403 and "muted" in body(response)
    response = post(client, f"/t/{thread.id}/reply", {"body": "b"})
    assert response.status_code == 403 and "muted" in body(response)
    assert count_rows(Thread) == 1 and count_rows(Post) == 1
    clock.advance(hours=2)
    assert post(client, f"/t/{thread.id}/reply", {"body": "b"}).status_code == 303


# --- 6. End to end ---------------------------------------------------------------------------


def test_end_to_end_flags_hide_delete_log_appeal_decide(app, make_account, clock):
    space = make_space("closed", slug="den")
    mina, rosa, fred, dee = (make_account(a) for a in ("Mina", "Rosa", "Fred", "Dee"))
    add_member(space, mina, "moderator")
    add_member(space, rosa, "moderator")
    add_member(space, fred, space_alias="FredInDen")
    add_member(space, dee)
    thread = make_thread(space, mina, title="Safety talk")
    flaggers = [make_account(a) for a in ("Ana", "Bea", "Cai")]
    for f in flaggers:
        add_member(space, f)
        season(f, thread)

    fred_client = signed_in(app, "Fred")
    assert (
        post(
            fred_client, f"/t/{thread.id}/reply", {"body": "capybaramarker nasty words"}
        ).status_code
        == 303
    )
    target = with_text(Post, "body", "capybaramarker nasty words")[0]
    for f in flaggers:
        client = signed_in(app, f.alias)
        page = body(client.get(f"/t/{thread.id}?page=2")) + body(client.get(f"/t/{thread.id}"))
        assert f'href="/flag/post/{target.id}"' in page
        assert post(client, f"/flag/post/{target.id}", {"reason": "harassment"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Post, target.id).hidden_at is not None

    def thread_pages(client) -> str:
        return body(client.get(f"/t/{thread.id}")) + body(client.get(f"/t/{thread.id}?page=2"))

    for alias in ("Ana", "Dee"):
        assert "capybaramarker" not in thread_pages(signed_in(app, alias)), alias
    fred_view = thread_pages(fred_client)
    auto = db.session.scalar(sa.select(ModAction).where(ModAction.action == "auto_hide"))
    assert (
        "capybaramarker" in fred_view and f'href="/s/{space.id}/mod/appeal/{auto.id}"' in fred_view
    )
    mina_client = signed_in(app, "Mina")
    assert "capybaramarker" in thread_pages(
        mina_client
    ) and "hidden pending review" in thread_pages(mina_client)

    queue = body(mina_client.get("/s/den/mod/queue"))
    assert "capybaramarker" in queue
    response = post(
        mina_client,
        "/s/den/mod/act",
        {"action": "delete", "kind": "post", "id": str(target.id), "reason": "harassment"},
    )
    assert response.status_code == 303
    assert db.session.scalar(sa.select(Post).where(Post.id == target.id)) is None

    log = body(signed_in(app, "Dee").get("/s/den/mod/log"))
    assert "deleted" in log and "FredInDen" in log and "harassment" in log

    action = db.session.scalar(sa.select(ModAction).where(ModAction.action == "delete"))
    assert "deleted your post" in body(fred_client.get("/notices"))
    assert (
        post(fred_client, f"/s/den/mod/appeal/{action.id}", {"text": "It was a quote."}).status_code
        == 303
    )
    appeal = db.session.scalar(sa.select(Appeal))
    assert (
        post(
            mina_client,
            f"/s/den/mod/appeals/{appeal.id}/decide",
            {"outcome": "overturn", "reason": "x"},
        ).status_code
        == 403
    )
    rosa_client = signed_in(app, "Rosa")
    assert (
        post(
            rosa_client,
            f"/s/den/mod/appeals/{appeal.id}/decide",
            {"outcome": "uphold", "reason": "threats are never ok"},
        ).status_code
        == 303
    )
    assert "The decision stays." in body(fred_client.get("/notices"))  # was "upheld"
    assert "appeal refused: the decision stays" in body(signed_in(app, "Dee").get("/s/den/mod/log"))
    assert count_rows(Notice) >= 2
