"""A moderator's redaction obeys the rules of the text it replaces: a title stays a
title-sized single line, a chat message chat-sized, and nobody slips in control or
bidirectional-override characters. A refused redaction leaves the text as it was.
"""

from __future__ import annotations

import pytest

from forum import markdown
from forum.errors import Invalid
from forum.extensions import db
from moderation import actions
from tests.factories import make_message
from tests.factories import make_post
from tests.factories import make_thread


@pytest.fixture
def content(space, member, lounge, moderator):
    thread = make_thread(space, member, title="Meet at 12 Elm Street", body="first")
    return {
        "thread": thread,
        "post": make_post(thread, member, "call me at 07700 900123"),
        "chat": make_message(lounge, member, "I live at 12 Elm Street"),
    }


@pytest.mark.parametrize(
    ("kind", "replacement"),
    [
        ("thread", "x" * (markdown.MAX_TITLE_CHARS + 1)),
        ("thread", "two\nlines"),
        ("post", "y" * (markdown.MAX_POST_CHARS + 1)),
        ("chat", "z" * (markdown.MAX_CHAT_CHARS + 1)),
        ("chat", "[removed] \u202eevil"),
        ("post", "[removed]\x00"),
        ("post", "   "),
    ],
)
def test_redaction_follows_the_content_rules(content, moderator, kind, replacement):
    item = content[kind]
    before = item.title if kind == "thread" else item.body
    with pytest.raises(Invalid):
        actions.redact(moderator, "lounge", kind, item.id, replacement)
    db.session.rollback()
    db.session.refresh(item)
    assert (item.title if kind == "thread" else item.body) == before


@pytest.mark.parametrize("kind", ["thread", "post", "chat"])
def test_redaction_within_the_rules_is_stored(content, moderator, kind):
    item = content[kind]
    actions.redact(moderator, "lounge", kind, item.id, "  Meet at [removed]  ")
    db.session.refresh(item)
    assert (item.title if kind == "thread" else item.body) == "Meet at [removed]"
