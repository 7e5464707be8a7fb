"""Build graph cases (issue 17): independent stages built together, and a cache mount reused.

``build-parallel``: one three-stage file whose first two stages are independent (each
waits 2 s in a RUN, standing for a download or a compiler run), and the same work with the
second stage built on the first (so one after the other); both ``--no-cache``.  The ratio
of the two is the graph's gain (target: at most 0.6x).  The file also has a fourth stage
the target does not need (it would wait 3 s): it must cost nothing.

``build-cache-mount``: a RUN with ``--mount=type=cache`` that fills the cache the first time
(2 s) and finds it on later builds; each rebuild changes only a source file copied before
it, so the RUN runs again.  Reported: the rebuild's time and the share of rebuilds whose
step said it reused the cache (its own output).

docker is driven through BuildKit (Debian's 20.10 client, DOCKER_BUILDKIT=1) when present;
its classic builder has neither parallel stages nor cache mounts.  podman: n/a.
"""

from __future__ import annotations

import os
import subprocess
import time

from peers import IMAGE, Engine, EngineError

METRICS = [
    ("graph_parallel", "3 stages, 2 independent", "ms"),
    ("graph_serial", "same work, one after the other", "ms"),
    ("graph_ratio", "independent / serial (x100)", "%"),
    ("cachemount_first", "cache mount, first build", "ms"),
    ("cachemount_rebuild", "cache mount, source changed", "ms"),
    ("cachemount_reused", "rebuilds that reused it", "%"),
]
BUILDKIT_CLI = "/usr/bin/docker"
WAIT = "RUN sleep 2 && echo {name} > /{name}\n"
PARALLEL = (
    f"FROM {IMAGE} AS one\n" + WAIT.format(name="one") +
    f"FROM {IMAGE} AS two\n" + WAIT.format(name="two") +
    f"FROM {IMAGE} AS unused\nRUN sleep 3\n"
    f"FROM {IMAGE}\nCOPY --from=one /one /one\nCOPY --from=two /two /two\n"
)  # fmt: skip
SERIAL = (
    f"FROM {IMAGE} AS one\n" + WAIT.format(name="one") +
    "FROM one AS two\n" + WAIT.format(name="two") +
    f"FROM {IMAGE}\nCOPY --from=one /one /one\nCOPY --from=two /two /two\n"
)  # fmt: skip
CACHE_FILE = (
    f"FROM {IMAGE}\nCOPY src /src\n"
    "RUN --mount=type=cache,target=/cache,id=bench-deps "
    "if [ -f /cache/deps ]; then echo cache-reused; else sleep 2; echo d > /cache/deps; "
    "echo cache-filled; fi; cat /src > /out\n"
)


def _builder(eng: Engine) -> tuple[list[str], dict[str, str]] | None:
    if eng.name == "cove":
        return eng.argv("build"), dict(eng.env)
    if eng.name == "docker" and os.path.exists(BUILDKIT_CLI):
        return [BUILDKIT_CLI, "build", "--progress=plain"], {**eng.env, "DOCKER_BUILDKIT": "1"}
    return None


def _ctx(eng: Engine, name: str, files: dict[str, str]) -> str:
    d = eng.path(name)
    os.makedirs(d, exist_ok=True)
    for rel, text in files.items():
        with open(os.path.join(d, rel), "w") as f:
            f.write(text)
    return d


def _build(argv: list[str], env: dict[str, str], timeout: float) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, env=env, timeout=timeout,
                       stdin=subprocess.DEVNULL)  # fmt: skip
    dt = time.perf_counter() - t0
    text = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
    if r.returncode != 0:
        raise EngineError(f"{' '.join(argv[:2])} -> exit {r.returncode}: {text[-300:]}")
    return dt * 1000, text


def case_build_parallel(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    b = _builder(eng)
    if b is None:
        return {}
    base, env = b
    par = _ctx(eng, "graph-par", {"Dockerfile": PARALLEL})
    ser = _ctx(eng, "graph-ser", {"Dockerfile": SERIAL})
    out: dict[str, list[float]] = {"graph_parallel": [], "graph_serial": [], "graph_ratio": []}
    for i in range(warmup + min(runs, 5)):  # each build waits seconds: a few runs are enough
        p, _ = _build([*base, "--no-cache", "--network", "none", par], env, eng.timeout)
        s, _ = _build([*base, "--no-cache", "--network", "none", ser], env, eng.timeout)
        if i >= warmup:
            out["graph_parallel"].append(p)
            out["graph_serial"].append(s)
            out["graph_ratio"].append(100 * p / s)
    return out


def case_build_cache_mount(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    b = _builder(eng)
    if b is None:
        return {}
    base, env = b
    ctx = _ctx(eng, "cachemount", {"Dockerfile": CACHE_FILE, "src": "0\n"})
    argv = [*base, "--network", "none", ctx]
    first, _ = _build(argv, env, eng.timeout)
    rebuild: list[float] = []
    reused: list[float] = []
    for i in range(1, min(runs, 5) + 1):
        with open(os.path.join(ctx, "src"), "w") as f:
            f.write(f"{i}\n")
        dt, text = _build(argv, env, eng.timeout)
        rebuild.append(dt)
        reused.append(100.0 if "cache-reused" in text else 0.0)
    return {"cachemount_first": [first], "cachemount_rebuild": rebuild,
            "cachemount_reused": reused}  # fmt: skip
