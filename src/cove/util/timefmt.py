"""RFC 3339 timestamps: the one place they are written and read.

Docker writes times in UTC with a trailing ``Z``: container states with all nine digits of
nanoseconds (``now_rfc3339``), image configs, events and ``cp`` stats in Go's RFC3339Nano
(trailing zeros of the fraction trimmed, ``rfc3339_nano``), tokens and volumes to the
second (``rfc3339``).  Everything here works on UTC epoch values and timezone-aware
datetimes only: a naive datetime's ``timestamp()`` reads the host's local zone, and
correcting that with ``time.timezone`` is off by an hour whenever daylight saving is on.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

_NS = 1_000_000_000
_BASE = "%Y-%m-%dT%H:%M:%S"


def _base(secs: int) -> str:
    return time.strftime(_BASE, time.gmtime(secs))


def rfc3339(secs: float | None = None) -> str:
    """Whole seconds: ``2024-05-01T12:00:00Z``."""
    return _base(int(time.time() if secs is None else secs)) + "Z"


def rfc3339_nano(ns: int | None = None) -> str:
    """Go's ``time.RFC3339Nano``: ``2024-05-01T12:00:00.1234Z`` (fraction's zeros trimmed)."""
    secs, frac = divmod(time.time_ns() if ns is None else ns, _NS)
    digits = f"{frac:09d}".rstrip("0")
    return f"{_base(secs)}.{digits}Z" if digits else f"{_base(secs)}Z"


def now_rfc3339(ns: int | None = None) -> str:
    """Docker's container-state shape: all nine digits, ``2024-05-01T12:00:00.120000000Z``."""
    secs, frac = divmod(time.time_ns() if ns is None else ns, _NS)
    return f"{_base(secs)}.{frac:09d}Z"


def rfc3339_local(secs: float) -> str:
    """The host's local time with its offset, as the docker CLI prints an image's or a
    container's time: ``2024-05-01T14:00:00+02:00`` (``Z`` when the offset is zero)."""
    t = time.localtime(secs)
    zone = time.strftime("%z", t)
    return time.strftime(_BASE, t) + ("Z" if zone == "+0000" else f"{zone[:3]}:{zone[3:]}")


def _offset(tail: str) -> tuple[str, timezone]:
    """Split ``.123+02:00`` / ``.5Z`` / ``-0700`` into the fraction digits and the zone."""
    for sign in "+-":
        if sign in tail:
            frac, _, zone = tail.partition(sign)
            digits = zone.replace(":", "")
            if not digits.isdigit() or len(digits) not in (2, 4):
                raise ValueError(f"bad zone offset {zone!r}")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            return frac, timezone(delta if sign == "+" else -delta)
    return tail.rstrip("Zz"), UTC


def parse_rfc3339(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 time (``Z`` or an offset; no zone reads as
    UTC); 0.0 for Go's zero time or an empty string.  ``ValueError`` for anything else."""
    if not text or text.startswith("0001-"):
        return 0.0
    main, tail = text[:19], text[19:]
    frac = ""
    if tail.startswith("."):
        frac, zone = _offset(tail[1:])
    else:
        _, zone = _offset(tail)
    if frac and not frac.isdigit():
        raise ValueError(f"bad fraction in {text!r}")
    t = datetime.strptime(main, _BASE).replace(tzinfo=zone).timestamp()
    return t + (float("0." + frac) if frac else 0.0)


def parse_utc(text: str, formats: tuple[str, ...]) -> float:
    """The first of ``formats`` (strptime) that reads ``text`` (a trailing ``Z`` dropped), as
    UTC; ``ValueError`` when none does."""
    for fmt in formats:
        try:
            return datetime.strptime(text.rstrip("Z"), fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise ValueError(f"no format reads {text!r}")
