"""``docker container prune``: remove every stopped container the filters select."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time

from cove.engine.containers.steps import ContainerSteps
from cove.engine.state import Status
from cove.errors import CoveError, InvalidArgument
from cove.util.jsontypes import Json
from cove.util.labels import labels_match
from cove.util.timefmt import parse_rfc3339

_DUR = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_until(text: str, now: float) -> float:
    """dockerd's filter times: a unix time, an RFC 3339 date, or a Go duration ago."""
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DUR.findall(text)
    if parts and "".join(n + u for n, u in parts) == text:
        return now - sum(float(n) * _UNIT[u] for n, u in parts)
    try:
        return parse_rfc3339(text if "T" in text else text + "T00:00:00Z")
    except ValueError:
        raise InvalidArgument(f"failed to parse value as time or duration: {text!r}") from None


def _tree_size(top: str) -> int:
    """Bytes in the container's writable layer (what removing it gives back)."""
    total = 0
    for root, _dirs, files in os.walk(top):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


async def containers_prune(eng: ContainerSteps, filters: dict[str, list[str]]) -> Json:
    for key in filters:
        if key not in ("until", "label", "label!"):
            raise InvalidArgument(f"invalid filter '{key}'")
    until = None
    if filters.get("until"):
        until = parse_until(filters["until"][0], time.time())
    deleted: list[str] = []
    reclaimed = 0
    for c in list(eng.containers.values()):
        await eng.sync(c)
        if c.status not in (Status.EXITED, Status.CREATED, Status.DEAD):
            continue
        if until is not None and parse_rfc3339(c.data["Created"]) >= until:
            continue
        if not labels_match(c.config.get("Labels") or {}, filters.get("label", [])):
            continue
        if not labels_match(c.config.get("Labels") or {}, filters.get("label!", []), True):
            continue
        size = await asyncio.to_thread(_tree_size, eng.snapshotter.upper_dir(c.id))
        try:
            await eng.remove_step(c.id, False, False)
        except CoveError:
            continue
        deleted.append(c.id)
        reclaimed += size
    eng.bus.emit("container", "prune", "", {"reclaimed": str(reclaimed)})
    return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}
