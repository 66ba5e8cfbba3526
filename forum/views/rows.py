"""Links for the rows of a page: one ``url_for`` per page, string work per row.

A thread page links each of its 20 posts two or three times and a chat room each of its
50 messages twice; ``url_for`` (werkzeug's URL building, ~10-15 us) for each was a
tenth of the chat room page. ``row_url`` builds the link once with a marker id and
splits it around the marker, so each row only puts its own id in.

Rows write ``flag_url[m.id]``, not ``flag_url(m.id)``: Jinja sends a call through its
context (``Context.call`` probes the callable for ``jinja_pass_arg`` twice, each probe a
raised and caught AttributeError), an item lookup straight to ``__getitem__``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import current_app
from flask import has_request_context
from flask import request
from flask import url_for

# An id every <int:...> route accepts (forum/views/converters.py: up to access.MAX_ID) and
# that no other part of a URL can contain: the link is split around it.
_MARK = "1999999999"


class RowUrl:
    """``url_for(endpoint, **values, <field>=row_id)`` for any row id, built once."""

    __slots__ = ("_head", "_tail")

    def __init__(self, endpoint: str, field: str, **values: Any) -> None:
        built = url_for(endpoint, **values, **{field: int(_MARK)})
        head, mark, tail = built.partition(_MARK)
        if not mark or _MARK in tail:
            raise ValueError(f"{endpoint}: {field} is not a plain id in its URL")
        self._head, self._tail = head, tail

    def __call__(self, row_id: int) -> str:
        return f"{self._head}{int(row_id)}{self._tail}"

    __getitem__ = __call__


# The keyword a link without ids may carry and still be remembered (a static file's name).
_REMEMBERED = frozenset({"filename"})


def page_url(endpoint: str, /, **values: Any) -> str:
    """``url_for`` for templates. A link with no values, or only a static file's name (the
    stylesheet, the scripts, the header's and footer's links: about twenty a page, each
    ~15 us of werkzeug's building), is built once per app and script root and remembered;
    every other link (and one relative to the request's blueprint) is built by ``url_for``
    as ever. The same URL either way: nothing else it depends on changes while the process
    runs (static names are hashed at start)."""
    if endpoint.startswith(".") or not _REMEMBERED.issuperset(values) or not has_request_context():
        return url_for(endpoint, **values)
    key = (request.script_root, endpoint, values.get("filename"))
    remembered = current_app.extensions["rb_page_urls"]
    found = remembered.get(key)
    if found is None:
        found = remembered[key] = url_for(endpoint, **values)
    return found


def init_app(app: Flask) -> None:
    app.add_template_global(RowUrl, "row_url")
    app.extensions["rb_page_urls"] = {}
    app.add_template_global(page_url, "url_for")
