"""Network cases (issue 5): what the default bridge costs a short container, and how fast
a published port carries a download compared with the container's own address.

The bench's dockerd runs with ``--bridge=none`` (its other cases must not touch the host's
firewall), so it has no default bridge: docker is reported n/a here, with that reason.
"""

from __future__ import annotations

import json
import subprocess
import time

from peers import IMAGE, Engine, EngineError

METRICS = [
    ("run_rm_bridge", "run --rm true, default bridge", "ms"),
    ("bridge_extra", "bridge cost over --network none", "ms"),
    ("dl_port", "100 MB via -p 127.0.0.1", "ms"),
    ("dl_direct", "100 MB from container IP", "ms"),
]
NA_DOCKER = "dockerd runs with --bridge=none in this bench"


def case_run_rm_bridge(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    """Runs on the default bridge, each paired with one on ``--network none`` right before
    it: the paired difference is what the bridge costs, free of the machine's drift."""
    if eng.name == "docker":
        return {}
    out, extra = [], []
    for i in range(warmup + runs):
        none = eng.call("run", "--rm", "--network", "none", IMAGE, "true")
        r = eng.call("run", "--rm", IMAGE, "true")
        if i >= warmup:
            out.append(r.seconds * 1000)
            extra.append((r.seconds - none.seconds) * 1000)
    return {"run_rm_bridge": out, "bridge_extra": extra}


def _curl(url: str) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", url],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    dt = time.perf_counter() - t0
    if r.returncode != 0 or int(float(r.stdout or 0)) != 100 * 1024 * 1024:
        raise EngineError(f"download {url} failed: {r.returncode} {r.stdout} {r.stderr[-200:]}")
    return dt * 1000


def case_port_throughput(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    if eng.name == "docker":
        return {}
    script = "dd if=/dev/zero of=/tmp/big bs=1M count=100 2>/dev/null; exec httpd -f -p 80 -h /tmp"
    r = eng.call("run", "-d", "-p", "127.0.0.1::80", IMAGE, "sh", "-c", script)
    cid = r.out.strip().splitlines()[-1]
    try:
        info = json.loads(eng.call("inspect", cid).out)[0]
        port = info["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
        nets = info["NetworkSettings"]["Networks"]
        ip = next(n["IPAddress"] for n in nets.values() if n.get("IPAddress"))
        for _ in range(50):  # until dd is done and httpd answers
            argv = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://{ip}/big"]
            probe = subprocess.run(argv, capture_output=True, text=True)
            if probe.stdout == "200":
                break
            time.sleep(0.2)
        via_port, direct = [], []
        for i in range(warmup + runs):
            a = _curl(f"http://127.0.0.1:{port}/big")
            b = _curl(f"http://{ip}/big")
            if i >= warmup:
                via_port.append(a)
                direct.append(b)
        return {"dl_port": via_port, "dl_direct": direct}
    finally:
        eng.remove([cid])


CASES = {"run-rm-bridge": case_run_rm_bridge, "port-throughput": case_port_throughput}
