"""One way to cut a list into pages: every list in the app goes through :func:`paginate`.

A page is ``per_page`` rows; one extra row is fetched to learn whether another page
follows, so no list ever counts its whole table. Numbered pages ("Older" links on
forum lists) pass a page number; lists that page by a key instead (chat history
before or after a message number) put the key in the query's WHERE and ask for
page 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from forum import statements
from forum.extensions import db

PER_PAGE = 25
MAX_PAGE = 10_000  # beyond this an offset only makes the database work for an empty page


@dataclass
class Page:
    """One page of a list: ``items``, the page number, and whether another follows."""

    items: list
    page: int
    has_next: bool


def page_number(raw: object, last: int = MAX_PAGE) -> int:
    """A page number from a caller (an int, or junk): 1 to ``last``, junk meaning 1."""
    if isinstance(raw, bool) or not isinstance(raw, int):
        return 1
    return max(1, min(raw, last))


def paged(query: sa.Select) -> sa.Select:
    """``query`` with :func:`paginate`'s limit and offset as bound parameters: a statement
    built once (module level, or ``access.prebuilt``) that ``paginate`` runs with
    ``params``, instead of a new statement, and its cache key, per page shown."""
    return query.limit(sa.bindparam("page_limit", type_=sa.Integer)).offset(
        sa.bindparam("page_offset", type_=sa.Integer)
    )


def paginate(
    query: sa.Select,
    page: object = 1,
    per_page: int = PER_PAGE,
    *,
    scalars: bool = True,
    last: int = MAX_PAGE,
    params: dict[str, Any] | None = None,
    plain: bool = False,
) -> Page:
    """Run ``query`` for one page (fetching one extra row to know if more follow).

    ``scalars`` gives the first entity of each row; ``False`` gives whole rows.
    ``params``: ``query`` came from :func:`paged`, and these are its other parameters.
    ``plain``: whole rows of columns (no entity) through :func:`forum.statements.run`, on
    the session's transaction without the ORM's execution path (nothing flushed first).
    """
    number = page_number(page, last)
    if params is None:
        query = query.limit(per_page + 1).offset((number - 1) * per_page)
    else:
        params = {**params, "page_limit": per_page + 1, "page_offset": (number - 1) * per_page}
    if plain:
        rows = list(statements.run(query, params))
    elif scalars:
        rows = list(db.session.scalars(query, params))
    else:
        rows = list(db.session.execute(query, params))
    return Page(rows[:per_page], number, len(rows) > per_page)
