"""Docker's text forms of sizes, durations, IDs and quoted strings (go-units, stringid)."""

from __future__ import annotations

import time

from cove.util.units import human_duration, human_size

__all__ = ["human_duration", "human_size"]

_BINARY = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ago(timestamp: float, now: float | None = None) -> str:
    return human_duration((time.time() if now is None else now) - timestamp) + " ago"


def truncate_id(ident: str) -> str:
    """``stringid.TruncateID``: drop the algorithm, keep 12 hex digits."""
    if ":" in ident:
        ident = ident.split(":", 1)[1]
    return ident[:12]


def ellipsis(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters, the last one becoming an ellipsis."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    return text[: width - 1] + "…"


def go_quote(text: str) -> str:
    """``strconv.Quote``: double quotes, Go escapes, printable unicode kept."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def ram_in_bytes(text: str) -> int:
    """``units.RAMInBytes``: "512m", "1.5g", "64k", "100" (binary units)."""
    s = text.strip().lower()
    num = s.rstrip("bkmgtpi")
    suffix = s[len(num) :].replace("i", "")
    if suffix.endswith("b") and len(suffix) == 2:
        suffix = suffix[0]
    try:
        value = float(num)
    except ValueError:
        raise ValueError(f"invalid size: '{text}'") from None
    if suffix not in _BINARY and suffix != "":
        raise ValueError(f"invalid suffix: '{suffix}'")
    if value < 0:
        raise ValueError(f"invalid size: '{text}'")
    return int(value * _BINARY.get(suffix, 1))


_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


def parse_go_duration(text: str) -> int:
    """``time.ParseDuration`` in nanoseconds: "1m30s", "500ms", "2h"."""
    s = text
    sign = -1 if s.startswith("-") else 1
    s = s.lstrip("+-")
    if s == "0":
        return 0
    if not s:
        raise ValueError(f'time: invalid duration "{text}"')
    total = 0.0
    while s:
        i = 0
        while i < len(s) and (s[i].isdigit() or s[i] == "."):
            i += 1
        if i == 0:
            raise ValueError(f'time: invalid duration "{text}"')
        num = float(s[:i])
        j = i
        while j < len(s) and not (s[j].isdigit() or s[j] == "."):
            j += 1
        unit = s[i:j]
        if unit not in _DURATION_UNITS:
            if not unit:
                raise ValueError(f'time: missing unit in duration "{text}"')
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        total += num * _DURATION_UNITS[unit]
        s = s[j:]
    return sign * int(total)


def go_time(timestamp: float) -> str:
    """Go's ``time.Time.String()`` in local time, seconds precision (ps/images CreatedAt)."""
    t = time.localtime(timestamp)
    zone = time.strftime("%z", t)
    return time.strftime("%Y-%m-%d %H:%M:%S ", t) + f"{zone} {time.strftime('%Z', t)}"
