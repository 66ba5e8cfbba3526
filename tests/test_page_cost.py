"""What a page view costs: the same number of queries for 5 posts as for 40, no write,
and no Markdown rendered (a post's or chat message's HTML is stored when it is written,
edited or redacted, sealed like its text).

Counted with SQLAlchemy's ``before_cursor_execute`` event on the app's engine, around
a second view of the page (the first may warm caches). No timing: bench/pages.py
measures speed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import url_for

from forum import expiry
from forum import markdown
from forum import sealed
from forum import threads
from forum.extensions import db
from forum.models import Post
from forum.views import rows
from moderation import actions
from realtime.models import ChatMessage
from tests.factories import add_member
from tests.factories import make_message
from tests.factories import make_post
from tests.factories import make_room
from tests.factories import make_space
from tests.factories import make_thread

BODY = "Reply {i}: **bold**, *emphasis*, a list:\n\n- one\n- two\n\n> a quote\n"
WRITES = ("insert", "update", "delete", "replace")


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement.strip())

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def view(client, url: str) -> list[str]:
    assert client.get(url).status_code == 200
    with statements() as seen:
        response = client.get(url)
    assert response.status_code == 200
    return seen


@pytest.fixture
def writers(space, make_account):
    people = [make_account(f"Writer{i}") for i in range(4)]
    for person in people:
        add_member(space, person)
    return people


def thread_of(space, writers, posts: int):
    thread = make_thread(space, writers[0], title=f"{posts} posts", body=BODY.format(i=0))
    for i in range(1, posts):
        make_post(thread, writers[i % len(writers)], body=BODY.format(i=i))
    return thread


def test_thread_page_queries_do_not_grow_with_posts_and_it_writes_nothing(
    client, member, space, writers
):
    short, long = thread_of(space, writers, 5), thread_of(space, writers, 40)
    few, many = view(client, f"/t/{short.id}"), view(client, f"/t/{long.id}")
    assert len(few) == len(many), (few, many)
    assert not [s for s in many if s.lower().startswith(WRITES)]


def test_chat_room_page_queries_do_not_grow_with_messages(client, member, space, writers):
    quiet, busy = make_room(space), make_room(space, "Busy")
    for i in range(5):
        make_message(quiet, writers[i % 4], f"message {i} *with* emphasis")
    for i in range(50):
        make_message(busy, writers[i % 4], f"message {i} *with* emphasis")
    few = view(client, f"/s/{space.id}/chat/{quiet.id}")
    many = view(client, f"/s/{space.id}/chat/{busy.id}")
    assert len(few) == len(many), (few, many)
    assert not [s for s in many if s.lower().startswith(WRITES)]


def test_a_thread_page_renders_no_markdown(client, member, space, writers, monkeypatch):
    thread = thread_of(space, writers, 5)
    calls = []
    monkeypatch.setattr(markdown, "render", lambda text: calls.append(text))
    response = client.get(f"/t/{thread.id}")
    assert response.status_code == 200
    assert "<strong>bold</strong>" in response.get_data(as_text=True)
    assert calls == []


def test_stored_html_follows_every_change_of_the_text(client, member, space, writers):
    """The HTML is user text too: an edit, an erasure and a redaction rewrite it, so no
    page (and no row) keeps the old words."""
    thread = make_thread(space, member, title="Changes", body="first **OLDWORD** here")
    reply = make_post(thread, writers[0], body="a reply")
    first = db.session.scalar(sa.select(Post).where(Post.thread_id == thread.id, Post.is_first))
    assert "<strong>OLDWORD</strong>" in first.body_html
    threads.edit_post(member, first.id, body="now **NEWWORD**", title="Changes")
    db.session.refresh(first)
    assert "NEWWORD" in first.body_html and "OLDWORD" not in first.body_html
    threads.delete_post(member, first.id)  # first post with a reply: its text is erased
    db.session.refresh(first)
    assert "NEWWORD" not in first.body_html
    assert first.body_html == str(markdown.render(first.body))
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "NEWWORD" not in page and "OLDWORD" not in page and "a reply" in page
    assert reply.body_html == str(markdown.render("a reply"))


def test_rows_from_before_the_stored_html_still_render(client, member, space, writers):
    thread = thread_of(space, writers, 2)
    db.session.execute(sa.update(Post).where(Post.thread_id == thread.id).values(body_html=None))
    db.session.commit()
    page = client.get(f"/t/{thread.id}").get_data(as_text=True)
    assert "<strong>bold</strong>" in page


def test_a_message_stored_without_its_html_still_renders(client, member, space, writers):
    """The room page reads plain columns (``chat.Shown``): the text, opened only for a row
    without its HTML, is rendered; the others keep their stored HTML."""
    room = make_room(space)
    make_message(room, writers[0], "kept *html*")
    bare = make_message(room, writers[1], "no stored *html* here")
    db.session.execute(
        sa.update(ChatMessage).where(ChatMessage.id == bare.id).values(body_html=None)
    )
    db.session.commit()
    page = client.get(f"/s/{space.id}/chat/{room.id}").get_data(as_text=True)
    assert "no stored <em>html</em> here" in page
    assert "kept <em>html</em>" in page


# --- chat: the stored HTML ------------------------------------------------------------


def _raw_html(message_id: int) -> str | None:
    with db.engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT body, body_html FROM chat_messages WHERE id = :id"), {"id": message_id}
        ).one()


def _kid(stored: str) -> int:
    return int(stored[len(sealed.MAGIC) :].split(".")[0])


def test_a_chat_room_page_renders_no_markdown(client, member, space, writers, monkeypatch):
    room = make_room(space)
    for i in range(3):
        make_message(room, writers[i], f"message {i} *with* emphasis")
    calls = []
    monkeypatch.setattr(markdown, "render_inline", lambda text: calls.append(text))
    monkeypatch.setattr(markdown, "render", lambda text: calls.append(text))
    page = client.get(f"/s/{space.id}/chat/{room.id}").get_data(as_text=True)
    assert page.count("<em>with</em>") == 3
    assert calls == []


def test_stored_chat_html_is_sealed_with_the_body_and_follows_a_redaction(
    space, writers, moderator
):
    room = make_room(space)
    message = make_message(room, writers[0], "meet me at **OLDWORD** corner")
    body, html = _raw_html(message.id)
    # At rest: sealed, under the very key of the body (shredded with it).
    assert html.startswith(sealed.MAGIC) and "OLDWORD" not in html
    assert _kid(html) == _kid(body)
    db.session.expire_all()
    stored = db.session.get(ChatMessage, message.id)
    assert str(stored.html) == str(markdown.render_inline("meet me at **OLDWORD** corner"))
    actions.redact(moderator, space.slug, "chat", message.id, "meet me at the corner", "address")
    db.session.expire_all()
    stored = db.session.get(ChatMessage, message.id)
    assert "OLDWORD" not in stored.body_html and "the corner" in stored.body_html
    _body, html = _raw_html(message.id)
    assert html.startswith(sealed.MAGIC)


def test_stored_chat_html_is_unreadable_once_its_hour_is_over(app, clock):
    room = make_room(make_space(chat_retention_hours=1))
    message_id = make_message(room, body="gone *soon*").id
    _body, copy = _raw_html(message_id)  # what a backup or a dead PostgreSQL row keeps
    assert sealed.vault().open(copy) == str(markdown.render_inline("gone *soon*"))
    clock.advance(hours=2)
    expiry.delete_expired(clock.now())
    db.session.expire_all()
    assert db.session.get(ChatMessage, message_id) is None
    assert sealed.vault().open(copy) == sealed.SHREDDED


def test_a_shortened_life_moves_the_stored_html_to_the_new_key(clock, space, writers):
    from forum import retention
    from tests.factories import owner_of

    room = make_room(space)
    message = make_message(room, writers[0], "moving *along*")
    before = _kid(_raw_html(message.id)[1])
    retention.set_retention(owner_of(space), space, 1, 30, apply_to_existing=True)
    body, html = _raw_html(message.id)
    assert _kid(html) == _kid(body) != before
    db.session.expire_all()
    assert "<em>along</em>" in db.session.get(ChatMessage, message.id).body_html


def test_the_migration_renders_the_messages_already_stored(app, space, writers):
    import flask_migrate

    room = make_room(space)
    from alembic.script import ScriptDirectory

    message_id = make_message(room, writers[0], "from *before* the column").id
    db.session.close()
    scripts = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    (ours,) = [r for r in scripts.walk_revisions() if r.path.endswith("_chat_html.py")]
    flask_migrate.downgrade(revision=ours.down_revision)
    columns = sa.inspect(db.engine).get_columns("chat_messages")
    assert "body_html" not in {column["name"] for column in columns}
    flask_migrate.upgrade()
    body, html = _raw_html(message_id)
    assert html.startswith(sealed.MAGIC) and _kid(html) == _kid(body)
    assert sealed.vault().open(html) == str(markdown.render_inline("from *before* the column"))


def test_without_alerts_a_page_asks_the_safety_tables_once(client, member, space, writers):
    """Every signed-in page reads the alert banners (an alert shows on the very next page,
    in any process); with nothing to show, that is one statement, not one per banner."""
    thread = thread_of(space, writers, 5)
    seen = view(client, f"/t/{thread.id}")
    safety = [s for s in seen if "safety_checkin" in s or "safety_alerts" in s]
    assert len(safety) == 1, safety


def url_fors(app, client, url: str, monkeypatch) -> int:
    """How many links a page's templates build with ``url_for`` (a view after a first)."""
    assert client.get(url).status_code == 200
    built = []
    real = app.jinja_env.globals["url_for"]
    monkeypatch.setitem(
        app.jinja_env.globals, "url_for", lambda *a, **k: built.append(a) or real(*a, **k)
    )
    assert client.get(url).status_code == 200
    monkeypatch.setitem(app.jinja_env.globals, "url_for", real)
    return len(built)


def test_row_links_are_built_once_per_page_not_per_row(
    app, client, member, space, writers, monkeypatch
):
    quiet, busy = make_room(space), make_room(space, "Busy")
    for i in range(5):
        make_message(quiet, writers[i % 4], f"message {i}")
    for i in range(50):
        make_message(busy, writers[i % 4], f"message {i}")
    rooms = [
        url_fors(app, client, f"/s/{space.id}/chat/{r.id}", monkeypatch) for r in (quiet, busy)
    ]
    assert rooms[0] == rooms[1], rooms
    short, long = thread_of(space, writers, 5), thread_of(space, writers, 20)
    pages = [url_fors(app, client, f"/t/{t.id}", monkeypatch) for t in (short, long)]
    assert pages[0] == pages[1], pages
    html = client.get(f"/t/{long.id}").get_data(as_text=True)
    assert 'href="/flag/post/' in html and "1999999999" not in html


def test_row_url_is_url_for_with_the_rows_id(app):
    with app.test_request_context():
        for endpoint, field, values in [
            ("moderation.flag", "target_id", {"kind": "chat"}),
            ("threads.edit", "post_id", {}),
            ("threads.show", "thread_id", {}),
        ]:
            link = rows.RowUrl(endpoint, field, **values)
            for row_id in (1, 42, 2**31 - 1):
                assert link(row_id) == url_for(endpoint, **values, **{field: row_id})
        paged = rows.RowUrl("threads.show", "page", thread_id=3)  # in the query string too
        assert paged(2) == url_for("threads.show", thread_id=3, page=2)


def test_a_chat_room_page_counts_who_is_online_without_reading_their_names(
    client, member, space, writers
):
    """The page shows "N online" only: the names (a query over every member present) are
    for the live presence updates, never read for the page."""
    room = make_room(space)
    make_message(room, writers[0], "hello")
    seen = view(client, f"/s/{space.id}/chat/{room.id}")
    names = [s for s in seen if "space_alias" in s and "chat_socket" in s]
    assert names == [], names
    assert any("chat_socket" in s and "count(" in s.lower() for s in seen), seen
    page = client.get(f"/s/{space.id}/chat/{room.id}").get_data(as_text=True)
    assert 'id="presence"' in page


@pytest.mark.sqlite_only("SQLite PRAGMA synchronous per connection")
def test_a_followers_read_position_is_written_without_an_fsync(client, member, space, writers):
    """The one write a thread view makes (a follower reaching replies not seen yet) waits
    for no disk: it runs at NORMAL, and the connection goes back to the pool at FULL."""
    thread = thread_of(space, writers, 3)
    threads.set_follow(member, thread.id, True)
    make_post(thread, writers[0], body="a reply the follower has not seen")
    levels: list[int] = []

    def record(connection, _cursor, statement, *_args) -> None:
        if statement.startswith("UPDATE thread_follows"):
            raw = connection.connection.dbapi_connection
            levels.append(raw.execute("PRAGMA synchronous").fetchone()[0])

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(f"/t/{thread.id}").status_code == 200
        assert client.get(f"/t/{thread.id}").status_code == 200  # nothing new: no write
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert levels == [1], levels
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2


def test_the_headers_notice_count_and_alert_banner_are_one_statement(
    client, member, space, writers
):
    """base.html's values about its reader (forum/header.py) come in one statement a page,
    read at the render: a thread page runs four in all (the session, the header, the
    thread and its posts)."""
    thread = thread_of(space, writers, 5)
    seen = view(client, f"/t/{thread.id}")
    header = [s for s in seen if "notices" in s or "safety_alerts" in s]
    assert len(header) == 1, header
    assert "notices" in header[0] and "safety_alerts" in header[0] and "checkins" in header[0]
    assert len(seen) == 4, seen
