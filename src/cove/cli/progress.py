"""Docker's JSON message streams (pull, import, load): shown as docker's ``jsonmessage`` does.

On a terminal each layer keeps its own line, redrawn in place with cursor movement; elsewhere
only the messages without a byte counter are printed, one per line.  An ``error`` field ends
the stream with ``StreamError``.
"""

from __future__ import annotations

import os

from cove.cli.units import human_size
from cove.client import jsonlite as json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, TextIO


class StreamError(Exception):
    """The daemon reported an error inside the stream."""


def progress_text(detail: dict[str, Any] | None, width: int = 80) -> str:
    """``JSONProgress.String()``: a bar (wide terminals only) and ``current/total``."""
    if not detail:
        return ""
    current = int(detail.get("current") or 0)
    total = int(detail.get("total") or 0)
    units = detail.get("units") or ""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current, 4):>8}" if not units else f"{current} {units}"
    pct = min(int(current / total * 100) // 2, 50)
    bar = f"[{'=' * pct}>{' ' * (50 - pct)}] " if width > 110 else ""
    if detail.get("hidecounts"):
        numbers = ""
    elif units:
        numbers = f"{current}/{total} {units}"
    elif current > total:
        numbers = f"{human_size(current, 4):>8}"
    else:
        numbers = f"{human_size(current, 4):>8}/{human_size(total, 4)}"
    return bar + numbers


def _line(msg: dict[str, Any], tty: bool, width: int) -> str | None:
    """One message's text, or None when docker would not print it."""
    progress = progress_text(msg.get("progressDetail"), width)
    has_progress = msg.get("progressDetail") is not None
    if not tty and has_progress and progress:
        return None
    text = ""
    if tty and not msg.get("stream") and has_progress:
        text = "\x1b[2K\r"
    if msg.get("id"):
        text += f"{msg['id']}: "
    if msg.get("from"):
        text += f"(from {msg['from']}) "
    status = msg.get("status", "")
    endl = "\r" if tty and not msg.get("stream") and has_progress else ""
    if has_progress and tty:
        return text + f"{status} {progress}{endl}"
    if msg.get("progress"):
        return text + f"{status} {msg['progress']}{endl}"
    if msg.get("stream"):
        return text + f"{msg['stream']}{endl}"
    return text + f"{status}{endl}\n"


def display(
    lines: Iterable[bytes],
    out: TextIO,
    tty: bool | None = None,
    on_aux: Callable[[Any], None] | None = None,
) -> None:
    if tty is None:
        tty = out.isatty()
    try:
        width = os.get_terminal_size(out.fileno()).columns if tty else 80
    except (OSError, ValueError):
        width = 80
    ids: dict[str, int] = {}
    for raw in lines:
        try:
            msg = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(msg, dict):
            continue
        if msg.get("error") or msg.get("errorDetail"):
            detail = msg.get("errorDetail") or {}
            raise StreamError(str(msg.get("error") or detail.get("message", "unknown error")))
        if msg.get("aux") is not None:
            if on_aux is not None:
                on_aux(msg["aux"])
            continue
        diff = 0
        ident = msg.get("id", "")
        if ident and (msg.get("progressDetail") is not None or msg.get("progress")):
            if ident not in ids:
                ids[ident] = len(ids)
                if tty:
                    out.write("\n")
            diff = len(ids) - ids[ident]
            if tty:
                out.write(f"\x1b[{diff}A")
        else:
            ids = {}
        text = _line(msg, tty, width)
        if text is not None:
            out.write(text)
        if ident and tty and diff:
            out.write(f"\x1b[{diff}B")
        out.flush()
