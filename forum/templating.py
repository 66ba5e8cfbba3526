"""The app's Jinja environment: Flask's, with each template's globals a read-only view.

Jinja gives every template its globals as a ``ChainMap`` over the environment's (so that
globals passed for one template stay with it). Each render, each ``{% include %}`` and
each ``{% from … import %}`` then copies or compares that map key by key in Python
(``ChainMap.__getitem__`` and ``__contains__`` for each of our ~40 globals): ~16 us for
every render of even an empty template, ~20 us for each import, five to seven times a
page. Jinja's own pull request pallets/jinja#2185 (open) names the same cost.

No template here has globals of its own (nothing passes ``globals=`` to Jinja), so a
template's globals are the environment's, read through a ``MappingProxyType``: copied and
compared in C, still live (a global added later is seen, as with the ``ChainMap``), and
read-only, so nothing can write into the environment's globals through a template
(Jinja's ``_load_template`` updates a cached template's globals when given some: that
now fails loudly instead of changing every template). A template given globals of its
own gets Jinja's ``ChainMap`` as before.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from types import MappingProxyType
from typing import Any

from flask.templating import Environment as FlaskEnvironment


class Environment(FlaskEnvironment):
    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        if d:
            return super().make_globals(d)
        return MappingProxyType(self.globals)  # type: ignore[return-value]
