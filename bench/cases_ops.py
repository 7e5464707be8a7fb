"""Operations cases (issue 3): what a streaming ``stats`` of 20 containers costs the daemon.

The engine's own CLI streams ``stats`` (no arguments: every running container) for a few
seconds while the daemon's CPU time (utime + stime of its processes) is read before and
after; the figure is percent of one core.  Engines without a daemon (podman) are n/a.
"""

from __future__ import annotations

import os
import subprocess
import time

from cases import SLEEP, containers, run_d
from peers import Engine

METRICS = [("stats20_cpu", "daemon CPU, stats of 20 streamed", "%")]
WINDOW = 5.0
TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def case_stats20(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    if not eng.has_daemon or not eng.daemon_pids():
        return {}
    out: list[float] = []
    with containers(eng) as ids:
        for _ in range(20):
            ids.append(run_d(eng, *SLEEP)[0])
        for i in range(warmup + max(1, min(runs, 3))):
            client = subprocess.Popen(
                eng.argv("stats"), env=eng.env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                time.sleep(2.0)  # every stream open and past its first sample
                pids = list(eng.daemon_pids().values())
                before = sum(_cpu_seconds(p) for p in pids)
                t0 = time.monotonic()
                time.sleep(WINDOW)
                used = sum(_cpu_seconds(p) for p in pids) - before
                elapsed = time.monotonic() - t0
            finally:
                client.kill()
                client.wait()
            if i >= warmup:
                out.append(100.0 * used / elapsed)
    return {"stats20_cpu": out}
