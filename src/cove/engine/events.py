"""The daemon's event stream (``docker events``): a bounded history plus live subscribers."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

Json = dict[str, Any]


class EventBus:
    def __init__(self, history: int = 1000) -> None:
        self._history: deque[Json] = deque(maxlen=history)
        self._subscribers: set[asyncio.Queue[Json]] = set()

    def emit(self, type_: str, action: str, actor_id: str, attributes: dict[str, str]) -> None:
        now = time.time_ns()
        ev: Json = {
            "Type": type_,
            "Action": action,
            "Actor": {"ID": actor_id, "Attributes": attributes},
            "scope": "local",
            "time": now // 1_000_000_000,
            "timeNano": now,
        }
        if type_ == "container":
            # the pre-1.22 fields docker's CLI still prints from
            ev.update(status=action, id=actor_id, **{"from": attributes.get("image", "")})
        self._history.append(ev)
        for q in list(self._subscribers):
            q.put_nowait(ev)

    async def stream(
        self, since: float | None, until: float | None, filters: dict[str, list[str]]
    ) -> AsyncIterator[Json]:
        def keep(ev: Json) -> bool:
            for key, vals in filters.items():
                if key == "type" and ev["Type"] not in vals:
                    return False
                if key == "event" and ev["Action"] not in vals:
                    return False
                if key in ("container", "image") and ev["Type"] == key:
                    a = ev["Actor"]
                    names = {a["ID"], a["ID"][:12], a["Attributes"].get("name", "")}
                    if not names & set(vals):
                        return False
                if key == "label":
                    attrs = ev["Actor"]["Attributes"]
                    for v in vals:
                        k, eq, want = v.partition("=")
                        if k not in attrs or (eq and attrs[k] != want):
                            return False
            return True

        q: asyncio.Queue[Json] = asyncio.Queue()
        self._subscribers.add(q)
        try:
            if since is not None:
                for ev in list(self._history):
                    t = ev["timeNano"] / 1e9
                    if t >= since and (until is None or t <= until) and keep(ev):
                        yield ev
            if until is not None and until <= time.time():
                return
            while True:
                timeout = None if until is None else max(0.0, until - time.time())
                try:
                    ev = await asyncio.wait_for(q.get(), timeout)
                except TimeoutError:
                    return
                if keep(ev):
                    yield ev
        finally:
            self._subscribers.discard(q)
