"""``docker diff``: what a container changed in its image's filesystem.

The snapshotter finds the changes (overlay upper dir, or a tree comparison for the native
driver); what the runtime itself put there (empty mount points for /etc/hosts, /proc,
volumes) is not the user's change and is left out, as Docker's init layer hides it.
"""

from __future__ import annotations

from cove.engine.context import EngineContext
from cove.engine.record import Container
from cove.snapshot.base import Snapshotter
from cove.snapshot.diff import Change, prune_runtime_entries
from cove.util.jsontypes import Json


def mount_targets(c: Container) -> set[str]:
    """Where volumes, binds and tmpfs are mounted: their mount points are not content."""
    out = {str(m.get("Destination", "")) for m in c.data.get("Mounts") or []}
    hc = c.host_config
    for b in hc.get("Binds") or []:
        parts = str(b).split(":")
        if len(parts) >= 2:
            out.add(parts[1])
    out.update(str(m.get("Target", "")) for m in hc.get("Mounts") or [])
    out.update(str(k) for k in (hc.get("Tmpfs") or {}))
    out.update(str(k) for k in (c.config.get("Volumes") or {}))
    return {p for p in out if p}


def container_changes(eng: EngineContext, ref: str) -> list[Json]:
    """``GET /containers/{id}/changes``: [{"Path": "/x", "Kind": 0|1|2}, ...]."""
    c = eng.find(ref)
    return [{"Path": "/" + ch.path, "Kind": ch.kind} for ch in changes_of(eng.snapshotter, c)]


def changes_of(snapshotter: Snapshotter, c: Container) -> list[Change]:
    """The user's changes in ``c``'s writable layer (commit and diff)."""
    return prune_runtime_entries(
        snapshotter.changes(c.id), snapshotter.upper_dir(c.id), mount_targets(c)
    )
