"""Signal names as Docker accepts them: "KILL", "SIGKILL", "9"."""

from __future__ import annotations

import signal as _signal

from cove.errors import InvalidArgument


def parse_signal(s: str | int | None, default: int = _signal.SIGTERM) -> int:
    if s is None or s == "":
        return default
    if isinstance(s, int):
        return s
    text = s.strip().upper()
    if text.isascii() and text.isdigit():  # not "³", which isdigit() takes
        n = int(text)
        if 0 < n < 65:
            return n
        raise InvalidArgument(f"Invalid signal: {s}")
    if not text.startswith("SIG"):
        text = "SIG" + text
    try:
        return int(_signal.Signals[text])
    except KeyError:
        pass
    if text.startswith("SIGRTMIN") or text.startswith("SIGRTMAX"):
        base = _signal.SIGRTMIN if text.startswith("SIGRTMIN") else _signal.SIGRTMAX
        off = text[8:]
        try:
            return int(base) + (int(off) if off else 0)
        except ValueError:
            pass
    raise InvalidArgument(f"Invalid signal: {s}")
