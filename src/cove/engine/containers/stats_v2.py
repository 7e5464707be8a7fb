"""``docker stats`` fields from a unified (cgroup2) container directory, shaped as dockerd
shapes them on such hosts: cpu times from ``cpu.stat`` (microseconds there, nanoseconds in
the API, no per-CPU usage), memory from ``memory.current``/``memory.max``/``memory.stat``
(whose ``inactive_file`` the docker CLI subtracts), block I/O from ``io.stat``."""

from __future__ import annotations

import os

from cove.engine.containers.cgroupread import blkio_json, read, read_int, read_kv, system_cpu_ns
from cove.util.jsontypes import Json


def cpu(d: str, ncpu: int) -> Json:
    st = read_kv(os.path.join(d, "cpu.stat"))
    return {
        "cpu_usage": {
            "total_usage": st.get("usage_usec", 0) * 1000,
            "usage_in_kernelmode": st.get("system_usec", 0) * 1000,
            "usage_in_usermode": st.get("user_usec", 0) * 1000,
        },
        "system_cpu_usage": system_cpu_ns(),
        "online_cpus": ncpu,
        "throttling_data": {
            "periods": st.get("nr_periods", 0),
            "throttled_periods": st.get("nr_throttled", 0),
            "throttled_time": st.get("throttled_usec", 0) * 1000,
        },
    }


def memory(d: str) -> Json:
    limit = (read(os.path.join(d, "memory.max")) or "max").strip()
    host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    out: Json = {
        "usage": read_int(os.path.join(d, "memory.current")),
        "stats": read_kv(os.path.join(d, "memory.stat")),
        "limit": min(int(limit), host) if limit.isdigit() else host,
    }
    peak = read(os.path.join(d, "memory.peak"))  # kernels >= 5.19
    if peak and peak.strip().isdigit():
        out["max_usage"] = int(peak)
    return out


def blkio(d: str) -> Json:
    """``io.stat`` lines (``8:0 rbytes=.. wbytes=.. rios=.. wios=..``) as the v1-shaped
    rows dockerd reports: read and write bytes per device."""
    rows = []
    for line in (read(os.path.join(d, "io.stat")) or "").splitlines():
        dev, *fields = line.split()
        if ":" not in dev:
            continue
        major, minor = dev.split(":")
        kv = dict(f.split("=", 1) for f in fields if "=" in f)
        for op, key in (("read", "rbytes"), ("write", "wbytes")):
            if kv.get(key, "").isdigit():
                rows.append({"major": int(major), "minor": int(minor), "op": op,
                             "value": int(kv[key])})  # fmt: skip
    return blkio_json(rows)
