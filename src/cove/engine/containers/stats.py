"""``docker stats``: one sample per second per container, read from cgroup files (v1
hierarchies here; a unified cgroup2 host, Debian 12's default, in ``stats_v2``).

A rootless daemon's containers are in the cgroup2 subtree delegated to the user (found
from the container's init, runtime/rootless_cgroup.py); without one (a cgroup v1 host, or
nothing delegated) they have no cgroup at all, and each sample is the empty one a dockerd
publishes when it cannot collect: the name and ID, every figure zero.

Docker's stats object: cpu_stats/precpu_stats (cpuacct, the host's total from /proc/stat),
memory_stats (memory cgroup), pids_stats, blkio_stats, networks (the container's
/proc/<pid>/net/dev).  A sample costs a handful of small reads; nothing runs between
samples, so a client streaming 20 containers costs the daemon little.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

from cove.engine.containers.cgroupread import (
    TICK_NS,
    blkio_json,
    cgroup_dir,
    process_cgroup,
    read,
    read_int,
    read_kv,
    system_cpu_ns,
    unified,
)
from cove.engine.containers.steps import ContainerSteps
from cove.engine.record import Container
from cove.engine.state import Status
from cove.util.jsontypes import Json
from cove.util.timefmt import now_rfc3339

ZERO_TIME = "0001-01-01T00:00:00Z"


def _networks(pid: int) -> Json:
    out: Json = {}
    for line in (read(f"/proc/{pid}/net/dev") or "").splitlines()[2:]:
        name, _, rest = line.partition(":")
        name = name.strip()
        f = rest.split()
        if name == "lo" or len(f) < 16:
            continue
        n = [int(x) for x in f]
        out[name] = {
            "rx_bytes": n[0], "rx_packets": n[1], "rx_errors": n[2], "rx_dropped": n[3],
            "tx_bytes": n[8], "tx_packets": n[9], "tx_errors": n[10], "tx_dropped": n[11],
        }  # fmt: skip
    return out


def _cpu(cid: str, ncpu: int) -> Json:
    d = cgroup_dir("cpuacct", cid)
    percpu = [int(x) for x in (read(os.path.join(d, "cpuacct.usage_percpu")) or "").split()]
    st = read_kv(os.path.join(d, "cpuacct.stat"))
    thr = read_kv(os.path.join(cgroup_dir("cpu", cid), "cpu.stat"))
    return {
        "cpu_usage": {
            "total_usage": read_int(os.path.join(d, "cpuacct.usage")),
            "percpu_usage": percpu or None,
            "usage_in_kernelmode": st.get("system", 0) * TICK_NS,
            "usage_in_usermode": st.get("user", 0) * TICK_NS,
        },
        "system_cpu_usage": system_cpu_ns(),
        "online_cpus": ncpu,
        "throttling_data": {
            "periods": thr.get("nr_periods", 0),
            "throttled_periods": thr.get("nr_throttled", 0),
            "throttled_time": thr.get("throttled_time", 0),
        },
    }


def _memory(cid: str) -> Json:
    d = cgroup_dir("memory", cid)
    stats = read_kv(os.path.join(d, "memory.stat"))
    return {
        "usage": read_int(os.path.join(d, "memory.usage_in_bytes")),
        "max_usage": read_int(os.path.join(d, "memory.max_usage_in_bytes")),
        "stats": stats,
        "failcnt": read_int(os.path.join(d, "memory.failcnt")),
        "limit": min(
            read_int(os.path.join(d, "memory.limit_in_bytes")) or 2**63,
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        ),
    }


def _blkio(cid: str) -> Json:
    rows = []
    path = os.path.join(cgroup_dir("blkio", cid), "blkio.throttle.io_service_bytes")
    for line in (read(path) or "").splitlines():
        f = line.split()
        if len(f) == 3 and ":" in f[0]:
            major, minor = f[0].split(":")
            rows.append({"major": int(major), "minor": int(minor), "op": f[1].lower(),
                         "value": int(f[2])})  # fmt: skip
    return blkio_json(rows)


def _empty_cpu() -> Json:
    return {
        "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    }


def sample(c: Container, ncpu: int, rootless: str = "") -> Json:
    """One stats object without ``precpu_stats``/``preread`` (the caller keeps those).
    ``rootless``: "" for the root daemon, "delegated" for a rootless one with a cgroup2
    subtree, "none" for one without cgroups."""
    running = c.status in (Status.RUNNING, Status.PAUSED)
    pd = cgroup_dir("pids", c.id)
    if running and rootless:
        found = process_cgroup(int(c.state.get("Pid") or 0)) if rootless == "delegated" else None
        running, pd = found is not None, found or pd
    out: Json = {"read": now_rfc3339() if running else ZERO_TIME, "name": "/" + c.name,
                 "id": c.id, "num_procs": 0}  # fmt: skip
    if not running:
        out.update(pids_stats={}, blkio_stats=_blkio(""), storage_stats={},
                   cpu_stats=_empty_cpu(), memory_stats={})  # fmt: skip
        return out
    limit = (read(os.path.join(pd, "pids.max")) or "max").strip()
    out["pids_stats"] = {"current": read_int(os.path.join(pd, "pids.current"))}
    if limit.isdigit():
        out["pids_stats"]["limit"] = int(limit)
    if unified() or rootless:
        from cove.engine.containers import stats_v2 as v2  # only on cgroup2 hosts

        out.update(blkio_stats=v2.blkio(pd), storage_stats={}, cpu_stats=v2.cpu(pd, ncpu),
                   memory_stats=v2.memory(pd))  # fmt: skip
    else:
        out.update(blkio_stats=_blkio(c.id), storage_stats={}, cpu_stats=_cpu(c.id, ncpu),
                   memory_stats=_memory(c.id))  # fmt: skip
    nets = _networks(int(c.state.get("Pid") or 0))
    if nets:
        out["networks"] = nets
    return out


def container_stats(
    eng: ContainerSteps, ref: str, stream: bool, one_shot: bool
) -> AsyncIterator[Json]:
    c = eng.find(ref)
    ncpu = os.cpu_count() or 1
    net = eng.options.net
    rootless = ("delegated" if net.cgroup_controllers else "none") if net.rootless else ""

    async def gen() -> AsyncIterator[Json]:
        pre = sample(c, ncpu, rootless)
        if not stream and not one_shot:
            await asyncio.sleep(1.0)  # dockerd's single sample carries a precpu reading
        while True:
            cur = sample(c, ncpu, rootless)
            cur["preread"] = pre["read"]
            cur["precpu_stats"] = pre["cpu_stats"]
            yield cur
            if not stream or c.id not in eng.containers:
                return
            pre = cur
            await asyncio.sleep(1.0)

    return gen()
