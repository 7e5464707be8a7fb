"""The ``label`` filter that every list and prune endpoint shares.

Docker's rule, the same for containers, images, networks, volumes and events: a wanted
``key`` matches when the key is present (any value), ``key=value`` when it has exactly that
value.  ``label=...`` filters keep what matches every one; ``label!=...`` filters keep what
matches none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def label_hit(labels: Mapping[str, str], wanted: str) -> bool:
    key, eq, value = wanted.partition("=")
    return key in labels and (not eq or labels[key] == value)


def labels_match(labels: Mapping[str, str], wanted: Iterable[str], negate: bool = False) -> bool:
    """Every one of ``wanted`` matches (``negate``: none of them does)."""
    return all(label_hit(labels, w) != negate for w in wanted)
