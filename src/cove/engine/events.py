"""The daemon's event stream (``docker events``): a bounded history plus live subscribers."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator

from cove.util.jsontypes import Json
from cove.util.labels import labels_match


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

    def recent(self) -> list[Json]:
        """The history, oldest first (what ``docker events --since`` could still replay)."""
        return list(self._history)

    async def stream(
        self, since: float | None, until: float | None, filters: dict[str, list[str]]
    ) -> AsyncIterator[Json]:
        def keep(ev: Json) -> bool:
            return event_matches(ev, filters)

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


def _exact(filters: dict[str, list[str]], key: str, *sources: str) -> bool:
    vals = filters.get(key)
    return not vals or any(src in vals for src in sources)


def _fuzzy(filters: dict[str, list[str]], key: str, *sources: str) -> bool:
    """dockerd's FuzzyMatch: the value equals, or is a prefix of, the ID or the name."""
    vals = filters.get(key)
    return not vals or any(src and src.startswith(v) for v in vals for src in sources)


def _strip_tag(ref: str) -> str:
    name, colon, tag = ref.rpartition(":")
    return name if colon and "/" not in tag else ref


def event_matches(ev: Json, filters: dict[str, list[str]]) -> bool:
    """dockerd's event filter: every key given must match, whatever the event's type, so
    ``container=web`` keeps only events whose actor is that container (an image's ``tag`` or
    ``push`` has nothing to do with it) and ``image=busybox`` keeps that image's events and
    those of the containers made from it."""
    actor = ev["Actor"]
    attrs: dict[str, str] = actor.get("Attributes") or {}
    ident, name = str(actor.get("ID", "")), str(attrs.get("name", ""))
    action = str(ev["Action"])
    fuzzy_events = {"health_status", "exec_create", "exec_start"} & set(filters.get("event", []))
    if fuzzy_events:
        if not _fuzzy(filters, "event", action):
            return False
    elif not _exact(filters, "event", action):
        return False
    image = name if ev["Type"] == "image" else str(attrs.get("image", ""))
    checks = (
        _exact(filters, "type", str(ev["Type"])),
        _exact(filters, "scope", str(ev.get("scope", "local"))),
        _fuzzy(filters, "container", ident, name),
        _fuzzy(filters, "network", ident, name),
        _fuzzy(filters, "volume", ident, name),
        _exact(filters, "image", ident, image, _strip_tag(ident), _strip_tag(image)),
    )
    if not all(checks):
        return False
    return labels_match(attrs, filters.get("label", []))
