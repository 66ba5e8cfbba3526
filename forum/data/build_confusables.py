"""Build ``confusables.txt``, the look-alike table of ``forum/aliases.py``, once, offline.

Run from the repository root, with ``confusable-homoglyphs`` installed::

    python forum/data/build_confusables.py > forum/data/confusables.txt

Not imported at run time. Re-running it with another ``confusable-homoglyphs``
version may change skeletons, which are stored in a unique column: that needs a data
migration (see ``forum/aliases.py``). ``tests/test_aliases.py`` rebuilds the table and
checks it equals the shipped file when run with the package, Python and Unicode
versions recorded in its header.

The package ships Unicode TR39's ``confusables.txt`` as a JSON graph in which each
source code point and its prototype string are linked both ways. This script recovers
the one-way table (source -> prototype):

1. Drop the left-to-right marks the package wraps around right-to-left text.
2. Each prototype is linked to all its sources, and each source to its prototype
   only, so a node with several links is a prototype and its neighbours map to it.
   A pair linked only to each other maps the single code point to the longer
   string; if both are single, the prototype is the one NFKC leaves alone (the
   Kangxi radical "⼭" maps to the ideograph "山"), else the lower code point
   (TR39's prototypes are the plainer, older characters: DEHI -> TIPEHA, Lao -> Thai).
3. Keep sources that can occur in NFD text (the skeleton looks up NFD text).
4. Add ``EXTRA_PAIRS``, look-alikes TR39 does not list, then resolve chains so every
   prototype maps to itself (one lookup is enough).
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections import defaultdict
from importlib import metadata
from importlib import resources

PACKAGE = "confusable-homoglyphs"
# Read in lowercase (the skeleton's second lookup is on casefolded text).
EXTRA_PAIRS = {
    "w": "vv",  # "vv" reads as "w" in most fonts
    "d": "cl",  # "cl" reads as "d", as "rn" reads as "m" (which TR39 lists)
    "д": "d",  # Cyrillic de: "Мод" reads as "Mod" to anyone who reads Cyrillic
}
_DIRECTION_MARKS = str.maketrans("", "", "\u200e\u200f")


def load_graph() -> dict[str, set[str]]:
    """The package's confusables as an undirected graph of strings."""
    path = resources.files("confusable_homoglyphs").joinpath("confusables.json")
    data = json.loads(path.read_text("utf-8"))
    graph: dict[str, set[str]] = defaultdict(set)
    for key, entries in data.items():
        a = key.translate(_DIRECTION_MARKS)
        for entry in entries:
            b = entry["c"].translate(_DIRECTION_MARKS)
            if a != b:
                graph[a].add(b)
                graph[b].add(a)
    return graph


def directed(graph: dict[str, set[str]]) -> dict[str, str]:
    """Recover TR39's source -> prototype table from the two-way graph."""
    table: dict[str, str] = {}
    for node, links in graph.items():
        if len(links) > 1:
            for source in links:
                if len(graph[source]) != 1 or len(source) != 1:
                    raise SystemExit(
                        f"unexpected shape around {node!r}: not a source/prototype star"
                    )
                table[source] = node
        else:
            (other,) = links
            if len(graph[other]) != 1:
                continue  # node is a source of a star; handled from the prototype's side
            if len(node) == 1 and (
                len(other) > 1 or (len(other) == 1 and _rank(node) > _rank(other))
            ):
                table[node] = other
    return table


def _rank(ch: str) -> tuple[bool, str]:
    """Order for choosing a prototype: text that NFKC keeps as it is, then lower code points."""
    return (unicodedata.normalize("NFKC", ch) != ch, ch)


def resolve(table: dict[str, str]) -> dict[str, str]:
    """Follow chains (a -> b, b -> c) so every value is made of prototypes."""
    for _ in range(10):
        changed = False
        for source, target in table.items():
            new = "".join(table.get(ch, ch) for ch in unicodedata.normalize("NFD", target))
            if new != target:
                if source in new:
                    raise SystemExit(f"cycle through {source!r}")
                table[source] = new
                changed = True
        if not changed:
            return table
    raise SystemExit("chains did not settle")


def build() -> dict[str, str]:
    table = directed(load_graph())
    table = {s: t for s, t in table.items() if unicodedata.normalize("NFD", s) == s}
    for source, target in EXTRA_PAIRS.items():
        if source in table:
            raise SystemExit(f"{source!r} is already in TR39's table")
        table[source] = target
    return resolve(table)


def main() -> None:
    table = build()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    print("# Look-alike table for forum/aliases.py: Unicode TR39 confusables from")
    print(f"# {PACKAGE} {metadata.version(PACKAGE)} plus EXTRA_PAIRS, made by")
    print("# forum/data/build_confusables.py (which says how). Built with")
    print(f"# Python {python}, Unicode {unicodedata.unidata_version}; {len(table)} entries.")
    print("# Stored alias keys depend on this file: changing it needs a data migration.")
    print("# source ; prototype (hex code points)")
    for source in sorted(table):
        target = " ".join(f"{ord(ch):04X}" for ch in table[source])
        print(f"{ord(source):04X} ; {target}")


if __name__ == "__main__":
    main()
