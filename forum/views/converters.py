"""URL converters: a value in a URL that could never name anything is "not found".

Registered by the factory for every route, so ``<int:...>`` and ``<slug>`` mean these:

- ``int``: ASCII digits naming an id from 1 to ``access.MAX_ID``. Werkzeug's own
  accepts any size (an overflow in the database driver: a 500), and any Unicode digit.
- ``default``/``string``: one path segment without the characters that
  ``text.clean`` refuses (NUL, control characters, unbalanced bidi controls).

A value they refuse matches no route, and the 404 page is the very page a missing
object gives, byte for byte (``forum/views/errors.py``).
"""

from __future__ import annotations

from werkzeug.routing import BaseConverter
from werkzeug.routing import UnicodeConverter
from werkzeug.routing import ValidationError

from forum import text
from forum.access import MAX_ID

_MAX_DIGITS = len(str(MAX_ID))
_MAX_SEGMENT = 200  # longer than any slug, code or kind the routes take


class IdConverter(BaseConverter):
    """``<int:thread_id>``: 1..MAX_ID, or no match."""

    regex = r"[0-9]+"
    weight = 50  # as Werkzeug's number converters: a literal segment wins over an id

    def to_python(self, value: str) -> int:
        if len(value) > _MAX_DIGITS or not 0 < int(value) <= MAX_ID:
            raise ValidationError()
        return int(value)

    def to_url(self, value: int) -> str:
        return str(int(value))


class SegmentConverter(UnicodeConverter):
    """``<slug>``: one segment of visible text, or no match."""

    def to_python(self, value: str) -> str:
        if len(value) > _MAX_SEGMENT or text.hidden_characters(value):
            raise ValidationError()
        return value


CONVERTERS = {"int": IdConverter, "default": SegmentConverter, "string": SegmentConverter}
