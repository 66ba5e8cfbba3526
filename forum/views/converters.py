"""URL converters: a value in a URL that could never name anything is "not found".

Registered by the factory for every route, so ``<int:...>``, ``<slug>`` and
``<space:...>`` mean these:

- ``int``: an id from 1 to ``access.MAX_ID`` in ASCII digits. Werkzeug's own takes
  any size (an overflow in the database driver: a 500) and any Unicode digit.
- ``default``/``string``: one path segment of at most 200 characters, without the
  characters ``text.clean`` never allows, line breaks, tabs or bidi isolates.
- ``space``: a space in ``/s/<space:slug>/...``, an organisation in ``/orgs/<space:slug>``
  and a rights page in ``/s/<space:slug>/pages/<space:page>``: such a segment; an id (as
  ``int``) becomes an ``int``, anything else stays text (an old slug URL, still
  resolved). Every link the app makes names them by id, so browser history says nothing
  about a space's, an organisation's or a guide's subject (docs/PRIVACY.md).

Both say it in their regex, not in ``to_python``: Werkzeug checks a rule's methods
before it converts, so a value refused in ``to_python`` on a POST answers 405 where a
GET rule shares the path. A value the regex refuses matches no rule: the 404 page,
byte for byte the page of a missing object (``forum/views/errors.py``).
"""

from __future__ import annotations

import re

from werkzeug.routing import BaseConverter

from forum import text
from forum.access import MAX_ID


def whole_numbers_up_to(limit: int) -> str:
    """A regex matching exactly the numbers 1..``limit`` written without leading zeros."""
    digits = str(limit)
    parts = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = len(digits) - i - 1
            parts.append(
                f"{digits[:i]}[{low}-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else "")
            )
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(BaseConverter):
    """``<int:thread_id>``: 1..MAX_ID, or no match."""

    regex = whole_numbers_up_to(MAX_ID)
    weight = 50  # as Werkzeug's number converters: a literal segment wins over an id
    part_isolating = True

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(int(value))


class SegmentConverter(BaseConverter):
    """``<slug>``: one segment of visible text, or no match."""

    regex = f"[^/{text.NEVER}\\t\\n\\r\\u2028\\u2029\\u2066-\\u2069]{{1,200}}"
    part_isolating = True


class SpaceConverter(SegmentConverter):
    """``<space:slug>``: an id (an ``int``, 1..MAX_ID), else an old slug (text): spaces,
    organisations and a space's rights pages."""

    _id = re.compile(whole_numbers_up_to(MAX_ID))

    def to_python(self, value: str) -> int | str:
        return int(value) if self._id.fullmatch(value) else value

    def to_url(self, value: object) -> str:
        return super().to_url(str(value))


CONVERTERS = {
    "int": IdConverter,
    "default": SegmentConverter,
    "string": SegmentConverter,
    "space": SpaceConverter,
}
