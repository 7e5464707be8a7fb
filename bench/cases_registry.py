"""Registry cases: push and pull of the same 100 MB image against a local registry.

The registry is Debian's ``docker-registry`` (distribution 2.8) on a free loopback port,
started fresh (empty storage) for every run, so every push really uploads.  A run pushes the
100 MB image of the image cases, removes it locally, and pulls it back (every layer
downloaded and unpacked).  In cove's turn, skopeo does the same copies (``oci:`` layout <->
the registry) as a reference, reported as ``skopeo push``/``skopeo pull`` rows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

from cases_images import BIG, ensure_big
from peers import Engine, EngineError

METRICS = [
    ("push_100m", "push 100 MB to local registry", "ms"),
    ("pull_100m", "pull 100 MB from local registry", "ms"),
    ("skopeo_push_100m", "skopeo copy oci: -> registry (ref.)", "ms"),
    ("skopeo_pull_100m", "skopeo copy registry -> oci: (ref.)", "ms"),
]
MAX_RUNS = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def local_registry() -> Iterator[str]:
    exe = shutil.which("docker-registry")
    if exe is None:
        raise EngineError("docker-registry not installed (apt-get install docker-registry)")
    base = tempfile.mkdtemp(prefix="cove-bench-registry-", dir="/tmp")
    addr = f"127.0.0.1:{_free_port()}"
    cfg = os.path.join(base, "config.yml")
    with open(cfg, "w") as f:
        f.write(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {base}/root\nhttp:\n  addr: {addr}\n"
        )
    proc = subprocess.Popen(
        [exe, "serve", cfg],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        host, port = addr.split(":")
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection((host, int(port)), 0.2):
                break
            time.sleep(0.02)
        yield addr
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def _tls(eng: Engine) -> tuple[str, ...]:
    return ("--tls-verify=false",) if eng.name == "podman" else ()


def _skopeo(*args: str) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, timeout=300)
    if r.returncode != 0:
        raise EngineError(f"skopeo {args[0]}: {r.stderr.decode(errors='replace')[-300:]}")
    return time.perf_counter() - t0


def case_registry(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    ensure_big(eng)
    out: dict[str, list[float]] = {"push_100m": [], "pull_100m": []}
    with_skopeo = eng.name == "cove" and shutil.which("skopeo") is not None
    if with_skopeo:
        out.update(skopeo_push_100m=[], skopeo_pull_100m=[])
    tmp = tempfile.mkdtemp(prefix="cove-bench-skopeo-", dir="/tmp")
    try:
        for i in range(warmup + min(runs, MAX_RUNS)):
            keep = i >= warmup
            with local_registry() as addr:
                name = f"{addr}/bench/big:1"
                eng.call("tag", BIG, name)
                push = eng.call("push", *_tls(eng), name, timeout=300)
                eng.call("rmi", name, BIG)
                pull = eng.call("pull", *_tls(eng), name, timeout=300)
                eng.call("tag", name, BIG)
                eng.call("rmi", name)
                if keep:
                    out["push_100m"].append(push.seconds * 1000)
                    out["pull_100m"].append(pull.seconds * 1000)
                if with_skopeo:
                    layout = os.path.join(tmp, f"oci{i}")
                    dt = _skopeo("copy", "--src-tls-verify=false", f"docker://{name}",
                                 f"oci:{layout}:big")  # fmt: skip
                    if keep:
                        out["skopeo_pull_100m"].append(dt * 1000)
            if with_skopeo:
                with local_registry() as addr2:
                    dt = _skopeo("copy", "--dest-tls-verify=false", f"oci:{layout}:big",
                                 f"docker://{addr2}/bench/big:1")  # fmt: skip
                    if keep:
                        out["skopeo_push_100m"].append(dt * 1000)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


CASES = {"registry": case_registry}
