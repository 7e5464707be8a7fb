"""The benchmark cases: the same docker-syntax work given to every engine.

A case takes an engine and a run count and returns {metric: [samples]}. Timings are the
wall time of one CLI command (fork to exit, output captured), in milliseconds; memory is in
MiB (printed as MB, as docker does). Containers a case creates are removed before it returns
(untimed), whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import procs
from peers import IMAGE, Engine, EngineError

NONE = ("--network", "none")
SLEEP = ("sleep", "1000")
TRAP = ("sh", "-c", 'trap "" TERM; sleep 1000')


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # "ms" or "MB"


METRICS = {
    m.key: m
    for m in (
        Metric("run_rm", "run --rm true", "ms"),
        Metric("run_d", "run -d sleep", "ms"),
        Metric("exec", "exec true", "ms"),
        Metric("ps", "ps (5 running)", "ms"),
        Metric("idle_rss", "daemon idle RSS", "MB"),
        Metric("busy_rss", "daemon RSS, 20 running", "MB"),
        Metric("mon_rss", "monitor RSS/ctr", "MB"),
        Metric("mon_pss", "monitor PSS/ctr", "MB"),
        Metric("stop", "stop -t 0", "ms"),
        Metric("rm_f", "rm -f running", "ms"),
        Metric("build_cold", "build --no-cache (7 steps)", "ms"),
        Metric("build_cached", "build, fully cached", "ms"),
        Metric("build_cold_bk", "BuildKit build --no-cache", "ms"),
        Metric("build_cached_bk", "BuildKit build, cached", "ms"),
    )
}

Samples = dict[str, list[float]]


@contextlib.contextmanager
def containers(eng: Engine) -> Iterator[list[str]]:
    """A list the case appends container ids to; all of them are removed on the way out."""
    ids: list[str] = []
    try:
        yield ids
    except BaseException:
        # The case's own failure is the news; a failed removal here is left to teardown.
        if ids:
            with contextlib.suppress(Exception):
                eng.remove(ids)
        raise
    if ids:
        eng.remove(ids)


def run_d(eng: Engine, *cmd: str) -> tuple[str, float]:
    r = eng.call("run", "-d", *NONE, IMAGE, *cmd)
    cid = r.out.strip().splitlines()[-1].strip() if r.out.strip() else ""
    if not cid:
        raise EngineError(f"{eng.name}: run -d printed no container id ({r.err.strip()[:200]})")
    return cid, r.seconds


def ms(seconds: float) -> float:
    return seconds * 1000.0


def case_run_rm(eng: Engine, runs: int, warmup: int) -> Samples:
    out = []
    for i in range(warmup + runs):
        r = eng.call("run", "--rm", *NONE, IMAGE, "true")
        if i >= warmup:
            out.append(ms(r.seconds))
    return {"run_rm": out}


def case_run_d(eng: Engine, runs: int, warmup: int) -> Samples:
    out = []
    with containers(eng) as ids:
        for i in range(warmup + runs):
            cid, dt = run_d(eng, *SLEEP)
            ids.append(cid)
            if i >= warmup:
                out.append(ms(dt))
    return {"run_d": out}


def case_exec(eng: Engine, runs: int, warmup: int) -> Samples:
    out = []
    with containers(eng) as ids:
        cid, _ = run_d(eng, *SLEEP)
        ids.append(cid)
        for i in range(warmup + runs):
            r = eng.call("exec", cid, "true")
            if i >= warmup:
                out.append(ms(r.seconds))
    return {"exec": out}


def case_ps(eng: Engine, runs: int, warmup: int) -> Samples:
    out = []
    with containers(eng) as ids:
        for _ in range(5):
            ids.append(run_d(eng, *SLEEP)[0])
        for i in range(warmup + runs):
            r = eng.call("ps")
            if i >= warmup:
                out.append(ms(r.seconds))
    return {"ps": out}


def _daemon_rss_mb(eng: Engine) -> float | None:
    pids = eng.daemon_pids()
    if not pids:
        return None
    total = 0
    for name, pid in pids.items():
        kb = procs.rss_kb(pid)
        if kb is None:
            raise EngineError(f"{eng.name}: cannot read VmRSS of {name} ({pid})")
        total += kb
    return total / 1024.0


def case_idle_rss(eng: Engine, runs: int, warmup: int) -> Samples:
    """VmRSS of the daemon(s) after the image import, no containers: 5 samples over 1 s."""
    if not eng.has_daemon:
        return {}
    if eng.container_ids():
        raise EngineError(f"{eng.name}: containers exist; idle RSS would not be idle")
    out = []
    for _ in range(5):
        v = _daemon_rss_mb(eng)
        if v is None:
            raise EngineError(f"{eng.name}: daemon pid unknown")
        out.append(v)
        time.sleep(0.2)
    return {"idle_rss": out}


def _init_pids(eng: Engine, ids: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in eng.inspect(ids):
        state = c.get("State")
        pid = state.get("Pid") if isinstance(state, dict) else None
        if isinstance(pid, int) and pid > 0:
            out[str(c.get("Id"))] = pid
    return out


def monitors_of(eng: Engine, ids: list[str]) -> dict[int, str]:
    """The per-container monitor: the parent of each container's init process.

    conmon and containerd-shim are child subreapers, so the container's init is their child
    whatever the runtime did in between. The result maps monitor pid -> its command name.
    """
    deadline = time.monotonic() + 30
    pids = _init_pids(eng, ids)
    while len(pids) < len(ids) and time.monotonic() < deadline:
        time.sleep(0.2)
        pids = _init_pids(eng, ids)
    if len(pids) < len(ids):
        raise EngineError(f"{eng.name}: only {len(pids)} of {len(ids)} containers report a pid")
    mons: dict[int, str] = {}
    for pid in pids.values():
        parent = procs.ppid(pid)
        if parent is None or parent <= 1:
            raise EngineError(f"{eng.name}: container init {pid} has no monitor parent")
        argv = procs.cmdline(parent)
        mons[parent] = os.path.basename(argv[0]) if argv else procs.comm(parent)
    return mons


def case_monitor(eng: Engine, runs: int, warmup: int) -> Samples:
    """Mean RSS and PSS of the per-container monitors with 20 containers running."""
    n = 20
    rss: list[float] = []
    pss: list[float] = []
    busy: list[float] = []
    with containers(eng) as ids:
        for _ in range(n):
            ids.append(run_d(eng, *SLEEP)[0])
        mons = monitors_of(eng, ids)
        time.sleep(1.0)  # let the monitors settle after their start-up work
        for _ in range(5):
            r = [procs.rss_kb(p) for p in mons]
            s = [procs.pss_kb(p) for p in mons]
            if any(v is None for v in r + s):
                raise EngineError(f"{eng.name}: a monitor exited while being measured")
            rss.append(sum(v for v in r if v) / 1024.0 / n)
            pss.append(sum(v for v in s if v) / 1024.0 / n)
            d = _daemon_rss_mb(eng)
            if d is not None:
                busy.append(d)
            time.sleep(0.2)
        names = sorted(set(mons.values()))
        if len(mons) != n:
            names.append(f"{len(mons)} monitor processes for {n} containers")
    out: Samples = {"mon_rss": rss, "mon_pss": pss}
    if busy:
        out["busy_rss"] = busy
    INFO.setdefault(eng.name, {})["monitor"] = ", ".join(names)
    return out


def case_stop(eng: Engine, runs: int, warmup: int) -> Samples:
    out = []
    with containers(eng) as ids:
        for i in range(warmup + runs):
            cid, _ = run_d(eng, *TRAP)
            ids.append(cid)
            r = eng.call("stop", "-t", "0", cid)
            if i >= warmup:
                out.append(ms(r.seconds))
            eng.remove([cid])
            ids.pop()
    return {"stop": out}


def case_rm_f(eng: Engine, runs: int, warmup: int) -> Samples:
    out = []
    with containers(eng) as ids:
        for i in range(warmup + runs):
            cid, _ = run_d(eng, *SLEEP)
            ids.append(cid)
            r = eng.call(*eng.RM_FORCE, cid)
            ids.pop()
            if i >= warmup:
                out.append(ms(r.seconds))
    return {"rm_f": out}


# Which metrics each case yields (a failed case marks all of them).
CASE_METRICS: dict[str, tuple[str, ...]] = {
    "idle-rss": ("idle_rss",),
    "run-rm": ("run_rm",),
    "run-d": ("run_d",),
    "exec": ("exec",),
    "ps": ("ps",),
    "monitor": ("mon_rss", "mon_pss", "busy_rss"),
    "stop": ("stop",),
    "rm-f": ("rm_f",),
    "build": ("build_cold", "build_cached", "build_cold_bk", "build_cached_bk"),
}

BUILD_DOCKERFILE = f"""FROM {IMAGE}
ENV APP=/app MODE=bench
LABEL bench=yes
COPY a.txt /a.txt
RUN echo built > /built
WORKDIR /app
COPY dir /app/dir
CMD ["cat", "/a.txt"]
"""
BUILDKIT_CLI = "/usr/bin/docker"  # Debian's 20.10 client speaks BuildKit without buildx


def _build_context(eng: Engine) -> str:
    ctx = eng.path("build-ctx")
    os.makedirs(os.path.join(ctx, "dir", "sub"), exist_ok=True)
    files = {"Dockerfile": BUILD_DOCKERFILE, "a.txt": "hello\n", "dir/one": "1\n",
             "dir/sub/two": "2\n"}  # fmt: skip
    for rel, text in files.items():
        with open(os.path.join(ctx, rel), "w") as f:
            f.write(text)
    return ctx


def _timed(argv: list[str], env: dict[str, str], timeout: float) -> float:
    import subprocess

    t0 = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, env=env, timeout=timeout,
                       stdin=subprocess.DEVNULL)  # fmt: skip
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise EngineError(f"{' '.join(argv[:3])} -> exit {r.returncode}: "
                          f"{r.stderr.decode(errors='replace')[-300:]}")  # fmt: skip
    return dt


def case_build(eng: Engine, runs: int, warmup: int) -> Samples:
    """The same Dockerfile and context: a build without cache, then fully cached rebuilds.
    docker runs its classic builder (DOCKER_BUILDKIT=0) and, when Debian's 20.10 client is
    there, BuildKit too."""
    ctx = _build_context(eng)
    out: Samples = {}
    variants: list[tuple[str, list[str], dict[str, str]]] = []
    if eng.name == "docker":
        variants.append(("", eng.argv("build"), {**eng.env, "DOCKER_BUILDKIT": "0"}))
        if os.path.exists(BUILDKIT_CLI):
            variants.append(("_bk", [BUILDKIT_CLI, "build"], {**eng.env, "DOCKER_BUILDKIT": "1"}))
    else:
        variants.append(("", eng.argv("build"), dict(eng.env)))
    for suffix, base, env in variants:
        cold, cached = [], []
        tag = f"bench-build{suffix}:1"
        for i in range(warmup + runs):
            dt = _timed([*base, *NONE, "--no-cache", "-q", "-t", tag, ctx], env, eng.timeout)
            if i >= warmup:
                cold.append(ms(dt))
        for i in range(warmup + runs):
            dt = _timed([*base, *NONE, "-q", "-t", tag, ctx], env, eng.timeout)
            if i >= warmup:
                cached.append(ms(dt))
        out["build_cold" + suffix] = cold
        out["build_cached" + suffix] = cached
    return out


# Free-form facts a case learned (e.g. which process is the monitor), per engine.
INFO: dict[str, dict[str, str]] = {}

# Order matters: idle RSS is taken first, before any container has ever run.
CASES: dict[str, Callable[[Engine, int, int], Samples]] = {
    "idle-rss": case_idle_rss,
    "run-rm": case_run_rm,
    "run-d": case_run_d,
    "exec": case_exec,
    "ps": case_ps,
    "monitor": case_monitor,
    "stop": case_stop,
    "rm-f": case_rm_f,
    "build": case_build,
}


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def p90(xs: list[float]) -> float:
    if len(xs) < 2:
        return xs[0]
    return statistics.quantiles(xs, n=10, method="inclusive")[8]


# Image cases (issue 4): their own module, registered here.
import cases_images  # noqa: E402

for _key, _label, _unit in cases_images.METRICS:
    METRICS[_key] = Metric(_key, _label, _unit)
for _name, _fn in cases_images.CASES.items():
    CASES[_name] = _fn
    CASE_METRICS[_name] = (_name,)

# Registry cases (issue 7): push/pull of the 100 MB image against a local registry.
import cases_registry  # noqa: E402

for _key, _label, _unit in cases_registry.METRICS:
    METRICS[_key] = Metric(_key, _label, _unit)
CASES["registry"] = cases_registry.case_registry
CASE_METRICS["registry"] = tuple(k for k, _, _ in cases_registry.METRICS)

# Network cases (issue 5): the default bridge's cost and published-port throughput.
import cases_network  # noqa: E402

for _key, _label, _unit in cases_network.METRICS:
    METRICS[_key] = Metric(_key, _label, _unit)
CASES["run-rm-bridge"] = cases_network.case_run_rm_bridge
CASE_METRICS["run-rm-bridge"] = ("run_rm_bridge", "bridge_extra")
CASES["port-throughput"] = cases_network.case_port_throughput
CASE_METRICS["port-throughput"] = ("dl_port", "dl_direct", "dl_ratio")

# Operations cases (issue 3): daemon CPU while one client streams stats of 20 containers.
import cases_ops  # noqa: E402

for _key, _label, _unit in cases_ops.METRICS:
    METRICS[_key] = Metric(_key, _label, _unit)
CASES["stats20"] = cases_ops.case_stats20
CASE_METRICS["stats20"] = ("stats20_cpu",)

# Overlay case (issue 8): a two-host cluster of its own; overlay vs underlay throughput and
# how soon a new container's name resolves on the other host.
import cases_overlay  # noqa: E402

for _key, _label, _unit in cases_overlay.METRICS:
    METRICS[_key] = Metric(_key, _label, _unit)
CASES["overlay"] = cases_overlay.case_overlay
CASE_METRICS["overlay"] = tuple(k for k, _, _ in cases_overlay.METRICS)

# Security case (issue 13): the default seccomp profile's cost, paired with unconfined runs.
import cases_security  # noqa: E402

for _key, _label, _unit in cases_security.METRICS:
    METRICS[_key] = Metric(_key, _label, _unit)
CASES["seccomp"] = cases_security.case_seccomp
CASE_METRICS["seccomp"] = tuple(k for k, _, _ in cases_security.METRICS)

# Logging cases (issue 14): --tail of a 1 GB log, four followers of a fast writer, 1 GB written.
import cases_logs  # noqa: E402

for _key, _label, _unit in cases_logs.METRICS:
    METRICS[_key] = Metric(_key, _label, _unit)
CASES["logs-tail"] = cases_logs.case_logs_tail
CASE_METRICS["logs-tail"] = ("logs_tail_1g",)
CASES["logs-follow"] = cases_logs.case_logs_follow
CASE_METRICS["logs-follow"] = ("follow_rss_growth", "follow_ping_p99")
CASES["log-throughput"] = cases_logs.case_log_throughput
CASE_METRICS["log-throughput"] = ("log_1g_write",)

# Build graph cases (issue 17): independent stages together, a cache mount reused.
import cases_buildgraph  # noqa: E402

for _key, _label, _unit in cases_buildgraph.METRICS:
    METRICS[_key] = Metric(_key, _label, _unit)
CASES["build-parallel"] = cases_buildgraph.case_build_parallel
CASE_METRICS["build-parallel"] = ("graph_parallel", "graph_serial", "graph_ratio")
CASES["build-cache-mount"] = cases_buildgraph.case_build_cache_mount
CASE_METRICS["build-cache-mount"] = ("cachemount_first", "cachemount_rebuild", "cachemount_reused")

# Rootless case (issue 18): a user's rootless cove beside that user's rootless podman.
import cases_rootless  # noqa: E402

for _key, _label, _unit in cases_rootless.METRICS:
    METRICS[_key] = Metric(_key, _label, _unit)
CASES["rootless"] = cases_rootless.case_rootless
CASE_METRICS["rootless"] = tuple(k for k, _, _ in cases_rootless.METRICS)
