"""Search: isolation, never-found content, hostile queries, and deletion reaching the disk."""

from __future__ import annotations

import secrets
import string
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import disk
from forum import sealed
from forum import search
from forum import threads
from forum.errors import Invalid
from forum.extensions import db
from forum.models import Post
from forum.models import Thread
from tests.factories import add_member
from tests.factories import make_space
from tests.factories import make_thread
from tests.support import disk_bytes
from tests.support import login


@pytest.fixture
def people(make_account):
    owner = make_account("Ownerz")
    reader = make_account("Readerz")
    outsider = make_account("Outsiderz")
    return owner, reader, outsider


def _letters(n: int) -> str:
    """A random marker of letters only: hex digits can look like a phone number,
    and the privacy guard then (rightly) asks the author to confirm."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(n))


def checkpoint() -> None:
    """SQLite: the database's WAL copied into its file and emptied, so the scan reads
    what the file holds (PostgreSQL: nothing to do; the index is in the vault either way)."""
    assert disk.checkpoint(db.engine)


def titles(results) -> list[str]:
    return [hit.thread_title for hit in results.hits]


def test_finds_titles_and_bodies_only_in_own_spaces(app, people):
    owner, reader, outsider = people
    closed = make_space("closed", owner=owner, name="Closed one")
    hidden = make_space("hidden", owner=owner, name="Hidden one")
    open_space = make_space("open", owner=owner, name="Open one")
    for space in (closed, hidden, open_space):
        add_member(space, reader)
        make_thread(
            space, owner, title=f"Kestrel in {space.kind}", body=f"umbrellabody {space.kind}"
        )
    assert len(search.search(reader, "umbrellabody").hits) == 3
    assert len(search.search(reader, "kestrel").hits) == 3  # title hits map to the first post
    assert (
        search.search(outsider, "umbrellabody").hits == []
    )  # not even the open space: not a member
    assert search.search(outsider, "kestrel").hits == []
    assert search.search(owner, "umbrellabody closed").hits[0].space_name == "Closed one"


def test_expired_hidden_and_deleted_posts_are_never_found(app, people, clock):
    owner, reader, _ = people
    space = make_space("closed", owner=owner, name="Retention")
    space.post_retention_days = 1
    db.session.commit()
    add_member(space, reader)
    expiring = make_thread(space, owner, title="Short lived", body="ephemeralword")
    hidden = make_thread(space, owner, title="Hid", body="hiddenword")
    hidden_reply = threads.reply(owner, hidden.id, body="hiddenreply")
    deleted = make_thread(space, owner, title="Gone", body="deletedword")
    hidden.hidden_at = clock.now()
    hidden_reply.hidden_at = clock.now()
    db.session.commit()
    deleted_post = db.session.scalar(sa.select(Post.id).where(Post.thread_id == deleted.id))
    threads.delete_post(owner, deleted_post)
    assert search.search(reader, "ephemeralword").hits
    clock.advance(days=1, seconds=1)
    assert expiring.expires_at is not None
    for word in ("ephemeralword", "hiddenword", "hiddenreply", "deletedword"):
        assert search.search(reader, word).hits == [], word
        assert search.search(owner, word).hits == [], word


def test_edits_replace_indexed_words(app, people):
    owner, _, _ = people
    space = make_space("open", owner=owner)
    t = make_thread(space, owner, title="Old title", body="oldword")
    first = db.session.scalar(sa.select(Post.id).where(Post.thread_id == t.id))
    threads.edit_post(owner, first, title="Fresh title", body="newword")
    assert search.search(owner, "oldword").hits == []
    assert search.search(owner, "old").hits == []
    assert titles(search.search(owner, "newword")) == ["Fresh title"]
    assert titles(search.search(owner, "fresh")) == ["Fresh title"]


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "*",
        "NEAR(",
        "-",
        "a OR b",
        "foo NOT bar",
        "^x",
        "title:x",
        '"unclosed',
        "(",
        ")",
        "x*",
        "NEAR(a b, 3)",
        "AND",
        "\x00",
        "' OR 1=1 --",
        "\u202e\u200b",
        "<script>",
        "😀",
        "x" * 199,
    ],
)
def test_hostile_queries_give_a_clear_answer(app, people, client, query):
    owner, _, _ = people
    space = make_space("open", owner=owner)
    make_thread(space, owner, title="plain", body="some words here")
    results = search.search(owner, query)
    assert isinstance(results.hits, list)
    login(client, "Ownerz")
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200


def test_operators_are_words_not_syntax(app, people):
    owner, _, _ = people
    space = make_space("open", owner=owner)
    make_thread(space, owner, title="t", body="apples and pears")
    assert search.search(owner, "apples OR zebra").hits == []  # OR is a word to find, so: no match
    assert len(search.search(owner, "apples pears").hits) == 1
    assert search.search(owner, "appl*").hits == []  # no prefix operator


def test_too_long_query_is_a_clear_400(app, people, client):
    with pytest.raises(Invalid):
        search.search(people[0], "x" * 10_000)
    login(client, "Ownerz")
    response = client.get("/search", query_string={"q": "x" * 10_000})
    assert response.status_code == 400
    assert "too long" in response.get_data(as_text=True)


@pytest.mark.parametrize("page", ["0", "-1", "1000000000", "junk", "", "1e3", "٣"])
def test_search_page_bounds(app, people, client, page):
    owner, _, _ = people
    space = make_space("open", owner=owner)
    for n in range(search.PER_PAGE + 2):
        make_thread(space, owner, title=f"t{n}", body="pagedword")
    login(client, "Ownerz")
    response = client.get("/search", query_string={"q": "pagedword", "page": page})
    assert response.status_code == 200
    first, second = search.search(owner, "pagedword", 1), search.search(owner, "pagedword", 2)
    assert len(first.hits) == search.PER_PAGE and first.has_next
    assert len(second.hits) == 2 and not second.has_next


def test_deleted_words_leave_the_database_file(app, people):
    """FTS5 keeps deleted terms in old segments; compact() must make them leave the file."""
    owner, _, _ = people
    space = make_space("open", owner=owner)
    gone = "zq" + _letters(16)
    kept = "zk" + _letters(16)
    t_gone = make_thread(space, owner, title="a", body=f"{gone} private words")
    make_thread(space, owner, title="b", body=f"{kept} stays")
    # Several segments, as a live forum has: more posts after the one to delete.
    for n in range(30):
        make_thread(space, owner, title=f"filler {n}", body=f"filler text {n} " + _letters(8))
    post_id = db.session.scalar(sa.select(Post.id).where(Post.thread_id == t_gone.id))
    tail_gone, tail_kept = gone[-10:].encode(), kept[-10:].encode()
    db.session.commit()  # end the read above: a checkpoint does not wait for readers
    checkpoint()
    assert tail_gone in disk_bytes() and tail_kept in disk_bytes()  # the grep works
    threads.delete_post(owner, post_id)  # deletes the thread (no replies) and compacts
    db.session.remove()
    checkpoint()
    data = disk_bytes()
    assert tail_kept in data  # positive control: live content is still on disk
    assert tail_gone not in data
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Thread).where(Thread.id == t_gone.id)
        )
        == 0
    )


def test_without_compaction_fts5_keeps_deleted_words(app, people, monkeypatch):
    """The control: why secure-delete and compact() exist (and that the grep sees FTS terms)."""
    owner, _, _ = people
    monkeypatch.setattr(search, "compact", lambda: None)
    with sealed.vault().connect() as index:  # as on an SQLite older than 3.42
        for table in search.FTS_TABLES:
            index.exec_driver_sql(f"INSERT INTO {table}({table}, rank) VALUES ('secure-delete', 0)")
        index.commit()
    space = make_space("open", owner=owner)
    gone = "zq" + _letters(16)
    t_gone = make_thread(space, owner, title="a", body=f"{gone} words")
    post_id = db.session.scalar(sa.select(Post.id).where(Post.thread_id == t_gone.id))
    threads.delete_post(owner, post_id)
    db.session.remove()
    checkpoint()
    assert gone[-10:].encode() in disk_bytes()


def test_retention_sets_expiry(app, people, clock):
    owner, _, _ = people
    space = make_space("open", owner=owner)
    space.post_retention_days = 3
    db.session.commit()
    t = make_thread(space, owner)
    assert t.expires_at == clock.now() + timedelta(days=3)
    space.post_retention_days = None  # "keep", which this instance does not allow
    db.session.commit()
    capped = make_thread(space, owner)
    assert capped.expires_at == clock.now() + timedelta(
        days=app.config["RB_POST_RETENTION_MAX_DAYS"]
    )
    app.config["RB_ALLOW_KEEP_POSTS"] = True
    keep = make_thread(space, owner)
    assert keep.expires_at is None
