"""``ps`` and ``inspect``: read-only views of the container records, synced from /proc.

A part the container service holds (``query``), built from the shared context, lifecycle's
``monitor_alive`` and the exec service (for inspect's ExecIDs); it never writes a record.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cove.engine.base import ContainerExecs
from cove.engine.context import EngineContext
from cove.engine.networks.records import endpoints
from cove.engine.record import Container
from cove.engine.state import Status
from cove.errors import InvalidArgument
from cove.network.ports import summary_ports
from cove.util.jsontypes import Json
from cove.util.labels import labels_match
from cove.util.timefmt import parse_rfc3339
from cove.util.units import human_duration


def status_text(c: Container, now: float) -> str:
    st = c.state
    s = c.status
    if s == Status.RUNNING or s == Status.PAUSED:
        up = "Up " + human_duration(now - parse_rfc3339(st["StartedAt"]))
        if s == Status.PAUSED:
            return up + " (Paused)"
        health = (st.get("Health") or {}).get("Status")
        if health == "starting":
            return up + " (health: starting)"
        return f"{up} ({health})" if health in ("healthy", "unhealthy") else up
    if s == Status.RESTARTING:
        ago = human_duration(now - parse_rfc3339(st["FinishedAt"]))
        return f"Restarting ({st['ExitCode']}) {ago} ago"
    if s == Status.EXITED:
        finished = parse_rfc3339(st["FinishedAt"])
        if not finished:
            return "Created"
        return f"Exited ({st['ExitCode']}) {human_duration(now - finished)} ago"
    if s == Status.REMOVING:
        return "Removal In Progress"
    if s == Status.DEAD:
        return "Dead"
    return "Created"


class ContainerQuery:
    def __init__(
        self,
        ctx: EngineContext,
        monitor_alive: Callable[[Container], bool],
        execs: ContainerExecs,
    ) -> None:
        self.ctx = ctx
        self.monitor_alive = monitor_alive
        self.execs = execs

    def _observed(self, c: Container) -> Container:
        """What ps and inspect show, without blocking and without writing: a container whose
        monitor is gone shows as 'exited' with the recorded code in a copy, while the record
        itself stays as it is until the exit is handled under the container's lock (by its
        watcher, or ``sync`` in the next operation): marking the record here made both of
        those skip the exit (no die event, nothing released, a waiting stop never woken)."""
        if c.status not in (Status.RUNNING, Status.PAUSED) or self.monitor_alive(c):
            return c
        code = self.ctx.runtime.exit_code(c.id)
        state = dict(c.state)
        state.update(
            Status=Status.EXITED.value,
            Running=False,
            Paused=False,
            Pid=0,
            ExitCode=255 if code is None else code,
        )
        return Container({**c.data, "State": state}, c.dir)

    def container_inspect(self, ref: str, size: bool = False) -> Json:
        c = self._observed(self.ctx.find(ref))
        out = c.public()
        out["ExecIDs"] = self.execs.exec_ids(c.id) or None
        return out

    def container_list(
        self, all: bool, limit: int, size: bool, filters: dict[str, list[str]]
    ) -> list[Json]:
        now = time.time()
        items = sorted(self.ctx.containers.values(), key=lambda c: c.data["Created"], reverse=True)
        out: list[Json] = []
        for c in map(self._observed, items):
            if (
                not all
                and not filters.get("status")
                and c.status
                not in (
                    Status.RUNNING,
                    Status.PAUSED,
                )
            ):
                continue
            if not _match(c, filters, self.ctx):
                continue
            out.append(self._summary(c, now))
            if limit > 0 and len(out) >= limit:
                break
        return out

    def _summary(self, c: Container, now: float) -> Json:
        # dockerd quotes the arguments that hold a space
        args = [f"'{a}'" if " " in a else a for a in c.data["Args"]]
        cmd = " ".join([c.data["Path"], *args])
        return {
            "Id": c.id,
            "Names": ["/" + c.name],
            "Image": c.config.get("Image", ""),
            "ImageID": c.data["Image"],
            "Command": cmd,
            "Created": int(parse_rfc3339(c.data["Created"])),
            "Ports": summary_ports(c.data["NetworkSettings"].get("Ports") or {}),
            "Labels": c.config.get("Labels") or {},
            "State": c.status.value,
            "Status": status_text(c, now),
            "HostConfig": {"NetworkMode": c.host_config.get("NetworkMode", "default")},
            "NetworkSettings": {"Networks": endpoints(c)},
            "Mounts": c.data.get("Mounts", []),
        }


_KNOWN = {
    "id",
    "name",
    "status",
    "label",
    "exited",
    "ancestor",
    "before",
    "since",
    "network",
    "volume",
    "health",
    "isolation",
    "is-task",
    "publish",
    "expose",
}


def _match(c: Container, filters: dict[str, list[str]], ctx: EngineContext) -> bool:
    for key, vals in filters.items():
        if key not in _KNOWN:
            raise InvalidArgument(f"invalid filter '{key}'")
        if not vals:
            continue
        if key == "id" and not any(c.id.startswith(v) for v in vals):
            return False
        if key == "name" and not any(v.lstrip("/") in c.name for v in vals):
            return False
        if key == "status" and c.status.value not in vals:
            return False
        if key == "health" and (c.state.get("Health") or {}).get("Status", "none") not in vals:
            return False
        if key == "exited" and (
            c.status != Status.EXITED or str(c.state.get("ExitCode")) not in vals
        ):
            return False
        if key == "label" and not labels_match(c.config.get("Labels") or {}, vals):
            return False
        if key == "network":
            nets = endpoints(c)
            ids = {str(ep.get("NetworkID") or "") for ep in nets.values()}
            if not any(v in nets or any(i and i.startswith(v) for i in ids) for v in vals):
                return False
        if key == "volume":
            # a volume's name or a mount's destination, as dockerd matches
            mounts = c.data.get("Mounts") or []
            names = {str(m.get("Name") or "") for m in mounts}
            names |= {str(m.get("Destination") or "") for m in mounts}
            if not any(v in names for v in vals):
                return False
        if key == "ancestor":
            ok = False
            for v in vals:
                try:
                    if ctx.images.resolve(v).id == c.data["Image"]:
                        ok = True
                except Exception:
                    pass
                if v == c.config.get("Image"):
                    ok = True
            if not ok:
                return False
        if key in ("before", "since"):
            for v in vals:
                other = ctx.find(v)
                if key == "before" and not c.data["Created"] < other.data["Created"]:
                    return False
                if key == "since" and not c.data["Created"] > other.data["Created"]:
                    return False
    return True
