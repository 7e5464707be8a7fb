"""``docker update``: change a container's resources and restart policy, live when it runs.

Only the fields the request sets (non-zero) change, as dockerd does; the merged HostConfig
is checked like a create's before anything is applied, so a refused update changes nothing.
"""

from __future__ import annotations

import copy

from cove.engine.containers.resources import check_resources, check_restart_policy, oci_resources
from cove.engine.containers.steps import ContainerSteps
from cove.engine.state import Status
from cove.errors import InvalidArgument
from cove.util.jsontypes import Json

FIELDS = (
    "BlkioWeight", "CpuShares", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod",
    "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "Memory", "MemoryReservation",
    "MemorySwap", "NanoCpus", "PidsLimit", "OomKillDisable",
)  # fmt: skip


async def container_update(eng: ContainerSteps, ref: str, body: Json) -> list[str]:
    c = eng.find(ref)
    async with eng.lock(c.id):
        await eng.sync(c)
        hc = copy.deepcopy(c.host_config)
        for key in FIELDS:
            v = body.get(key)
            if v not in (None, 0, ""):
                hc[key] = v
        mem, swap = int(body.get("Memory") or 0), int(body.get("MemorySwap") or 0)
        old_swap = int(c.host_config.get("MemorySwap") or 0)
        if mem and not swap and old_swap > 0 and mem > old_swap:
            raise InvalidArgument(
                f"Cannot update container {c.id}: Memory limit should be smaller than "
                "already set memoryswap limit, update the memoryswap at the same time"
            )
        if body.get("NanoCpus"):
            hc["CpuPeriod"] = hc["CpuQuota"] = 0
        if body.get("CpuPeriod") or body.get("CpuQuota"):
            hc["NanoCpus"] = 0
        rp = body.get("RestartPolicy") or {}
        if rp.get("Name"):
            hc["RestartPolicy"] = {
                "Name": rp["Name"],
                "MaximumRetryCount": int(rp.get("MaximumRetryCount") or 0),
            }
            check_restart_policy(hc)
        warnings = check_resources(hc)
        if c.status in (Status.RUNNING, Status.PAUSED) and eng.monitor_alive(c):
            await eng.runtime.update(c.id, oci_resources(hc))
        c.data["HostConfig"] = hc
        c.save()
    eng.emit(c, "update")
    return warnings
