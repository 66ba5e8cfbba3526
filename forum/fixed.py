"""``{% fixed look %}…{% endfixed %}``: a part of a page rendered once per look, then reused.

base.html's header, menu and footer are mostly the same words and links on every page
for every reader of one language and look: about thirty calls a page (``_()``,
``url_for``, the icons' and the language picker's macros, each through Jinja's
``Context.call``) made the same text again and again. A ``fixed`` part is rendered the
first time for its key and then served from memory in this process.

The key is the part's place (template, line, compilation), the request's script root
(the links in it) and the value after ``fixed``: base.html's ``look``, made once a page
(language, discreet mode, the neutral title and icon, signed in or not; the language
picker adds which of its two forms). Nothing in a fixed part may depend on anything
else: the reader (counts, names, alerts), the request (its path, the CSRF token) and the
time stay outside, between parts. So nothing per reader is ever stored, and the cache
holds at most parts x languages x 8 entries. With ``TESTING`` every fixed part is
rendered anyway and compared with what is stored: a part that read something outside
its key fails the test that showed it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from flask import current_app
from flask import has_request_context
from flask import request
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser


class FixedParts(Extension):
    tags = {"fixed"}

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        # What each part's caller made: Markup where the template escapes, as a macro's.
        self.stored: dict[tuple[Any, ...], str] = {}
        # Each compiled tag its own place: a template compiled again (edited, under
        # auto-reload) or two strings compiled with from_string never share a part.
        self._places = itertools.count()

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        key = parser.parse_expression()
        body = parser.parse_statements(("name:endfixed",), drop_needle=True)
        place = nodes.Const(f"{parser.name}:{lineno}:{next(self._places)}")
        call = self.call_method("_part", [place, key])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _part(self, place: str, key: tuple[Any, ...], caller: Callable[[], str]) -> str:
        root = request.script_root if has_request_context() else None
        stored_key = (place, root, key)
        found = self.stored.get(stored_key)
        if found is None:
            found = self.stored[stored_key] = caller()
        elif current_app.testing:
            if caller() != found:
                raise AssertionError(f"fixed part {place} changed within its key {key}")
        return found
