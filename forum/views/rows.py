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


def init_app(app: Flask) -> None:
    app.add_template_global(RowUrl, "row_url")
