"""Icons beside the main actions (issue 15): inline SVG drawn for this project, hidden
from screen readers (the words name the control), never fetched from anywhere, tiny."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import factories

ICONS = re.compile(r"<svg\b[^>]*>.*?</svg>", re.S)
NAMES = "reply post send flag edit delete block join checkin search exit notices account".split()


def icon(app: Flask, name: str) -> str:
    with app.test_request_context():
        macro = app.jinja_env.get_template("_macros.html").module.icon
        return str(macro(name))


@pytest.mark.parametrize("name", NAMES)
def test_each_icon_is_small_decorative_and_local(app: Flask, name: str) -> None:
    svg = icon(app, name)
    assert re.fullmatch(
        r'<svg class="icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">'
        r'<path d="[-0-9 .,a-zA-Z]+"/></svg>',
        svg,
    ), svg
    path = re.search(r'd="([^"]+)"', svg).group(1)
    assert len(re.findall(r"[a-zA-Z]", path)) <= 12, path  # a handful of commands
    assert len(svg) <= 220
    assert "href" not in svg and "url(" not in svg and "//" not in svg


def test_an_unknown_icon_draws_nothing(app: Flask) -> None:
    assert icon(app, "no-such-icon") == ""
    assert icon(app, "reply") != ""  # positive control


def action_icons(html: str, words: str) -> list[str]:
    """The icon paths inside the button or link whose words are ``words``."""
    found = re.findall(
        rf"<(?:button|a)\b[^>]*>\s*({ICONS.pattern})\s*{re.escape(words)}\s*</", html
    )
    return found


def test_main_actions_carry_their_icon(app: Flask, client: FlaskClient, member, space) -> None:
    thread = factories.make_thread(space, member, title="Tips", body="first")
    pages = {
        "/search?q=tips": [("search", "Search")],
        f"/s/{space.id}": [("post", "New thread")],
        f"/s/{space.id}/t/new": [("post", "Start thread")],
        f"/t/{thread.id}": [("reply", "Post reply")],
    }
    for path, expected in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        for name, words in expected:
            found = action_icons(html, words)
            assert found == [icon(app, name)], (path, words, found)
        # The header: the account menu and the notices bell, and nothing fetched.
        assert icon(app, "account") in html and icon(app, "notices") in html
        assert "<use" not in html and "<img" not in html.split("</header>")[0]


def test_the_per_post_controls_stay_plain_on_a_long_thread(
    app: Flask, client: FlaskClient, member, space
) -> None:
    """The 30 KB budget: icons on the page's main actions, not on every post's controls."""
    other = factories.make_account("Bodil")
    factories.add_member(space, other)
    thread = factories.make_thread(space, other, title="Long", body="first")
    for n in range(6):
        factories.make_post(thread, other if n % 2 else member, body=f"reply {n}")
    html = client.get(f"/t/{thread.id}").get_data(as_text=True)
    main = html.split('<main id="main"', 1)[1]
    assert main.count(">Flag</a>") == 4 and main.count(">Edit</a>") == 3  # the controls
    shown = ICONS.findall(main)  # the thread's own: flag it, block its author, post a reply
    assert shown == [icon(app, "flag"), icon(app, "block"), icon(app, "reply")], shown
