"""``docker images --filter`` and ``image prune --filter``: pure predicates over images.

Keys: ``dangling`` (true: no tag), ``reference`` (a glob over ``repo`` or ``repo:tag``),
``label`` (``k`` or ``k=v``; ``label!`` negates), ``before``/``since`` (an image reference:
created earlier/later than it), and for prune ``until`` (a timestamp, an RFC 3339 date, or a
Go duration ago).  An unknown key is refused as dockerd refuses it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from cove.errors import InvalidArgument
from cove.image.base import Image
from cove.util.labels import labels_match
from cove.util.timefmt import parse_rfc3339, parse_utc

KEYS = frozenset({"dangling", "reference", "label", "label!", "before", "since", "until"})
_DURATION = re.compile(r"(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def created(img: Image) -> float:
    try:
        return parse_rfc3339(str(img.config.get("created") or ""))
    except ValueError:
        return 0.0


def _labels(img: Image) -> dict[str, str]:
    labels: dict[str, str] = (img.config.get("config") or {}).get("Labels") or {}
    return labels


def _glob(pattern: str) -> re.Pattern[str]:
    """Go's ``path.Match``: ``*`` and ``?`` stop at ``/``, ``[...]`` is a class."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and pattern.find("]", i + 2) > 0:
            j = pattern.find("]", i + 2)
            body = pattern[i + 1 : j]
            out.append("[" + ("^" + body[1:] if body[:1] in ("^", "!") else body) + "]")
            i = j
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def ref_match(pattern: str, ref: str) -> bool:
    """Docker's FamiliarMatch: the pattern against ``repo:tag`` (or ``repo@digest``), then
    against the repository alone."""
    rx = _glob(pattern)
    if rx.match(ref):
        return True
    repo = ref.partition("@")[0]
    name, colon, tag = repo.rpartition(":")
    if colon and "/" not in tag:
        repo = name
    return bool(rx.match(repo))


def matching_refs(img: Image, patterns: list[str]) -> tuple[list[str], list[str]]:
    """The tags and digests of ``img`` that a ``reference`` filter keeps: dockerd lists only
    these (``images busybox:1`` shows no ``busybox:latest`` row of the same image)."""

    def keep(refs: list[str]) -> list[str]:
        return [r for r in refs if any(ref_match(p, r) for p in patterns)]

    return keep(img.repo_tags), keep(img.repo_digests)


def _ref_ok(img: Image, patterns: list[str]) -> bool:
    tags, digests = matching_refs(img, patterns)
    return bool(tags or digests)


def image_matches(
    img: Image,
    filters: dict[str, list[str]],
    lookup: Callable[[str], Image] | None = None,
) -> bool:
    for key, vals in filters.items():
        if key not in KEYS:
            raise InvalidArgument(f"invalid filter '{key}'")
        if not vals:
            continue
        if key == "dangling":
            if vals[0].lower() not in ("true", "false", "1", "0"):
                raise InvalidArgument(f"Invalid filter 'dangling={vals[0]}'")
            if (vals[0].lower() in ("true", "1")) != (not img.repo_tags):
                return False
        elif key == "reference":
            if not _ref_ok(img, vals):
                return False
        elif key in ("label", "label!"):
            if not labels_match(_labels(img), vals, key == "label!"):
                return False
        elif key in ("before", "since") and lookup is not None:
            for v in vals:
                other = created(lookup(v))
                mine = created(img)
                if (key == "before" and not mine < other) or (key == "since" and not mine > other):
                    return False
    return True


def parse_until(text: str, now: float | None = None) -> float:
    """A unix time from ``until``: seconds (fractions allowed), an RFC 3339 date, or a Go
    duration counted back from ``now``."""
    now = time.time() if now is None else now
    try:
        return float(text)
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    else:
        if pos == len(text) and pos:
            return now - total
    try:
        return parse_utc(text.rstrip("Z")[:19], ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"))
    except ValueError:
        raise InvalidArgument(f"invalid filter 'until={text}'") from None


def prune_until(filters: dict[str, list[str]]) -> float | None:
    vals = filters.get("until") or []
    return min(parse_until(v) for v in vals) if vals else None
