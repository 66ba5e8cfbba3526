"""Page weight (issue 15): the budgets, compression that cannot leak, hashed static names.

``test_every_page_within_budget`` runs ``bench/weight.py``'s own :func:`measure` on an
instance seeded exactly as the bench seeds it (about 15 s: 50 posts and 50 chat
messages written through the services).
"""

from __future__ import annotations

import gzip
import re
import shutil

import pytest
from flask import Flask

from bench import weight
from forum import weight as assets
from tests.support import signed_in


@pytest.fixture(scope="module")
def bench_rows() -> list[weight.Weight]:
    app, instance, token, space, thread_id, room_id = weight.seeded_app()
    try:
        return weight.measure(app, token, space, thread_id, room_id)
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def test_every_page_within_budget(bench_rows: list[weight.Weight]) -> None:
    over = [r.row() for r in bench_rows if not r.within]
    assert not over, weight.table(bench_rows)
    chat = [r for r in bench_rows if r.page.startswith("chat")]
    assert chat and all(r.budget == weight.CHAT_BUDGET for r in chat)
    assert all(r.budget == weight.FORUM_BUDGET for r in bench_rows if r not in chat)
    # Counted right: each page links its stylesheet and scripts, and they were weighed.
    assert all(r.files >= 3 and r.first_bytes > r.page_bytes for r in bench_rows)
    # A returning member downloads only the page: every linked file has a hashed name.
    assert {r.who for r in bench_rows} == {"visitor", "member"}


def test_signed_out_pages_load_no_socket_client(app: Flask) -> None:
    client = app.test_client()
    for path in ("/", "/login", "/signup", "/recover"):
        html = client.get(path).get_data(as_text=True)
        assert "socket.io" not in html, path


def static_links(html: str) -> list[str]:
    """The static files a page links (the manifest is a page: its name follows discreet
    mode, so it is ``no-store``, tests/test_discreet.py)."""
    return [link for link in weight.linked_files(html) if link.startswith("/static/")]


def test_linked_files_have_hashed_names_and_a_year_immutable(app: Flask) -> None:
    client = app.test_client()
    links = static_links(client.get("/login").get_data(as_text=True))
    assert len(links) >= 3
    for link in links:
        assert assets.HASHED.match(link.rsplit("/", 1)[1]), link
        response = client.get(link)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        plain = re.sub(r"\.[0-9a-f]{10}(\.[a-z]+)$", r"\1", link)
        assert client.get(plain).get_data() == response.get_data()


def test_a_changed_file_gets_a_new_name(tmp_path) -> None:
    (tmp_path / "a.css").write_text("body{}")
    before = assets.scan(tmp_path)["a.css"]
    (tmp_path / "a.css").write_text("body{color:red}")
    after = assets.scan(tmp_path)["a.css"]
    assert before != after and before.startswith("a.") and before.endswith(".css")


def test_wrong_or_missing_names_are_not_immutable(app: Flask) -> None:
    client = app.test_client()
    stale = client.get("/static/css/site.0123456789.css")
    assert stale.status_code == 200 and "immutable" not in stale.headers["Cache-Control"]
    assert client.get("/static/css/nothing.0123456789.css").status_code == 404
    assert client.get("/static/../forum/app.py").status_code == 404


def test_pages_compressed_for_our_own_requests_only(app: Flask, member) -> None:
    """BREACH needs compressed answers to requests another site makes the browser send
    (with the victim's cookie, reflecting the attacker's text next to a secret)."""
    client = signed_in(app, member.alias)
    path = "/search?q=" + "reflected" * 20
    ours = client.get(path, headers={"Accept-Encoding": "gzip", "Sec-Fetch-Site": "same-origin"})
    assert ours.headers["Content-Encoding"] == "gzip"
    assert "reflected" in gzip.decompress(ours.get_data()).decode()
    assert "Sec-Fetch-Site" in ours.headers["Vary"] and "Accept-Encoding" in ours.headers["Vary"]
    typed = client.get("/", headers={"Accept-Encoding": "gzip", "Sec-Fetch-Site": "none"})
    assert typed.headers["Content-Encoding"] == "gzip"
    for site in ("cross-site", "same-site", None):
        headers = {"Accept-Encoding": "gzip, br"}
        if site:
            headers["Sec-Fetch-Site"] = site
        theirs = client.get(path, headers=headers)
        assert theirs.status_code == 200
        assert "Content-Encoding" not in theirs.headers, site
        assert "reflected" * 20 in theirs.get_data(as_text=True)
