"""Docker's JSON progress messages for pull and push, rate-limited per layer.

``{"status": "Downloading", "progressDetail": {"current": n, "total": t}, "progress":
"[==>  ] 1.2MB/4MB", "id": "<12 hex>"}`` is what the docker CLI renders as a bar; byte
updates are thinned (a new one only after ~1% or the last byte) so a fast local transfer
does not flood the stream.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cove.util.jsontypes import Json


def short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


def human(n: float) -> str:
    """Docker's ``units.HumanSizeWithPrecision(n, 3)``: decimal units."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.4g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1000.0
    return f"{n}B"


def bar(current: int, total: int) -> str:
    if total <= 0:
        return f"{human(current):>8}"
    pct = min(50, int(current * 50 / total))
    arrow = "=" * pct + (">" if pct < 50 else "") + " " * max(0, 49 - pct)
    return f"[{arrow}] {human(current):>8}/{human(total)}"


class Reporter:
    def __init__(self, sink: Callable[[Json], None]) -> None:
        self._sink = sink
        self._last: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def status(self, status: str, ident: str = "", detail: Json | None = None) -> None:
        msg: Json = {"status": status}
        if detail is not None:
            msg["progressDetail"] = detail
        if ident:
            msg["id"] = ident
        self._sink(msg)

    def bytes(self, action: str, ident: str, current: int, total: int) -> None:
        with self._lock:
            last = self._last.get((action, ident), -1)
            step = max(total // 100, 256 << 10)
            if current < total and last >= 0 and current - last < step:
                return
            self._last[(action, ident)] = current
        self._sink(
            {
                "status": action,
                "progressDetail": {"current": current, "total": total},
                "progress": bar(current, total),
                "id": ident,
            }
        )

    def aux(self, data: Json) -> None:
        self._sink({"progressDetail": {}, "aux": data})
