"""forum/fixed.py: a ``{% fixed key %}`` part is made once per key and place, then reused;
under TESTING a part that reads anything outside its key fails the render."""

from __future__ import annotations

import pytest
from flask import Flask

PART = "{% fixed key %}<b>{{ words() }}</b>{% endfixed %}|{{ after }}"


def render(app: Flask, **context) -> str:
    """PART, compiled once per app (each compilation has parts of its own)."""
    template = app.extensions.setdefault("test_fixed_part", app.jinja_env.from_string(PART))
    with app.test_request_context("/"):
        return template.render(**context)


def test_a_part_is_made_once_per_key_and_the_rest_every_time(app: Flask, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "TESTING", False)  # no second rendering to compare
    made = []

    def words() -> str:
        made.append(1)
        return f"made {len(made)}"

    assert render(app, key=("en",), words=words, after=1) == "<b>made 1</b>|1"
    assert render(app, key=("en",), words=words, after=2) == "<b>made 1</b>|2"
    assert render(app, key=("es",), words=words, after=3) == "<b>made 2</b>|3"
    assert len(made) == 2


def test_under_testing_a_part_that_reads_outside_its_key_fails(app: Flask) -> None:
    assert render(app, key=1, words=lambda: "one", after="") == "<b>one</b>|"
    assert render(app, key=1, words=lambda: "one", after="") == "<b>one</b>|"
    with pytest.raises(AssertionError, match="changed within its key"):
        render(app, key=1, words=lambda: "two", after="")


def test_the_output_is_escaped_as_outside_a_part(app: Flask) -> None:
    assert render(app, key=2, words=lambda: "<i>&", after="<") == "<b>&lt;i&gt;&amp;</b>|&lt;"


def test_two_templates_never_share_a_part(app: Flask) -> None:
    """Two strings (or one template compiled again after an edit) at the same line."""
    with app.test_request_context("/"):
        first = app.jinja_env.from_string("{% fixed 1 %}first{% endfixed %}").render()
        second = app.jinja_env.from_string("{% fixed 1 %}second{% endfixed %}").render()
    assert (first, second) == ("first", "second")
