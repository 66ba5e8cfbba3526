"""forum/templating.py: a template's globals are the environment's, read through a live,
read-only view (no ChainMap copied key by key at every render); a template given globals
of its own keeps them to itself."""

from __future__ import annotations

import pytest
from flask import Flask


def test_a_templates_globals_are_live_and_read_only(app: Flask, monkeypatch) -> None:
    template = app.jinja_env.from_string("{{ rb_late|default('none') }}")
    assert template.render() == "none"
    monkeypatch.setitem(app.jinja_env.globals, "rb_late", "seen")  # added after loading
    assert template.render() == "seen"
    with pytest.raises(TypeError):
        template.globals["rb_late"] = "written"  # type: ignore[index]
    assert app.jinja_env.globals["rb_late"] == "seen"


def test_globals_given_to_one_template_stay_with_it(app: Flask) -> None:
    own = app.jinja_env.from_string("{{ rb_own }}", globals={"rb_own": "mine"})
    other = app.jinja_env.from_string("{{ rb_own|default('none') }}")
    assert own.render() == "mine"
    assert other.render() == "none"
    assert "rb_own" not in app.jinja_env.globals
