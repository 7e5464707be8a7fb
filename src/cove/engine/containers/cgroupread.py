"""Reading cgroup and /proc counters: the small readers ``stats``, ``stats_v2``, ``top`` and
``system`` share (no engine state here, so none of them imports another for these)."""

from __future__ import annotations

import functools
import os

from cove.util.jsontypes import Json

CGROUP = "/sys/fs/cgroup"
TICK_NS = 1_000_000_000 // (os.sysconf("SC_CLK_TCK") or 100)


def read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def read_int(path: str) -> int:
    text = read(path)
    try:
        return int(text.split()[0]) if text else 0
    except ValueError:
        return 0


def read_kv(path: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in (read(path) or "").splitlines():
        k, _, v = line.partition(" ")
        if v.strip().lstrip("-").isdigit():
            out[k] = int(v)
    return out


def system_cpu_ns() -> int:
    first = (read("/proc/stat") or "cpu 0").splitlines()[0].split()[1:8]
    return sum(int(x) for x in first) * TICK_NS


@functools.cache
def unified() -> bool:
    """A cgroup2-only host: the runtime puts containers at <root>/cove/<id>.  Asked once:
    the layout does not change under a running daemon, and samples ask several times."""
    return os.path.exists(os.path.join(CGROUP, "cgroup.controllers"))


def cgroup_dir(controller: str, cid: str) -> str:
    if unified():
        return os.path.join(CGROUP, "cove", cid)
    return os.path.join(CGROUP, controller, "cove", cid)


def process_cgroup(pid: int) -> str | None:
    """The cgroup2 directory of process ``pid`` (from its ``0::`` line), None when it has
    none: a rootless container sits in the user's delegated subtree, wherever that is."""
    for line in (read(f"/proc/{pid}/cgroup") or "").splitlines() if pid > 0 else ():
        if line.startswith("0::"):
            return os.path.join(CGROUP, line[3:].strip().lstrip("/"))
    return None


def blkio_json(rows: list[Json]) -> Json:
    return {
        "io_service_bytes_recursive": rows or None, "io_serviced_recursive": None,
        "io_queue_recursive": None, "io_service_time_recursive": None,
        "io_wait_time_recursive": None, "io_merged_recursive": None,
        "io_time_recursive": None, "sectors_recursive": None,
    }  # fmt: skip
