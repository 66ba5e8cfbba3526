"""What every signed-in page reads about its reader for base.html, in one statement.

The header shows how many notices the reader has not seen (moderation) and the alert
banner asks whether it has anything to show (forum/safety): two statements on every
page, each a fixed cost of ~50-60 us. Each package adds its value at start-up
(:func:`add`: a SQL expression over the bound parameters ``:account_id`` and ``:now``),
and one SELECT reads them all at every render, as each statement did before: an alert or
a notice shows on the very next page, whichever process serves it, and nothing is kept
after the render. Each value is a template variable of its name, or what the package's
``then`` makes of it (the banner's rows, read only when there are some).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any
from typing import NamedTuple

import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask import g

from forum import access
from forum import clock
from forum.extensions import db

_VALUES = "rb.header_values"


class Value(NamedTuple):
    build: Callable[[], sa.ColumnElement[Any]]
    then: Callable[[Any, Any], dict[str, Any]] | None


def add(
    app: Flask,
    name: str,
    build: Callable[[], sa.ColumnElement[Any]],
    then: Callable[[Any, Any], dict[str, Any]] | None = None,
) -> None:
    """Read ``build()`` (over ``:account_id`` and ``:now``) at every signed-in render: the
    template variable ``name``, or the variables ``then(account, value)`` returns."""
    app.extensions.setdefault(_VALUES, {})[name] = Value(build, then)


def _statement(values: Mapping[str, Value]) -> sa.Select:
    names = sorted(values)
    return access.prebuilt(
        "header values " + ",".join(names),
        lambda: sa.select(*(values[name].build().label(name) for name in names)),
    )


def _context() -> dict[str, Any]:
    """Context processor: at every render, the values for the signed-in reader."""
    account = g.get("account")
    values = current_app.extensions.get(_VALUES)
    if account is None or not values:
        return {}
    params = {"account_id": account.id, "now": clock.now()}
    row = db.session.execute(_statement(values), params).one()._mapping
    found: dict[str, Any] = {}
    for name, value in values.items():
        if value.then is None:
            found[name] = row[name]
        else:
            found.update(value.then(account, row[name]))
    return found


def init_app(app: Flask) -> None:
    app.context_processor(_context)
