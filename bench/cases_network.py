"""Network cases (issue 5): what the default bridge costs a short container, and how fast
a published port carries a download compared with the container's own address.

The bench's dockerd runs with ``--bridge=none`` (its other cases must not touch the host's
firewall), so it has no default bridge: docker is reported n/a here, with that reason.

The download comparison is kept fair: one server (busybox httpd in one container) serves
both paths, the same curl fetches both, the order alternates from run to run, and the time
is curl's own ``time_total`` (the transfer, not curl's start-up).  ``dl_ratio`` is the
median of the per-pair speed ratios, so drift of the machine between pairs cancels out.

Why -p via 127.0.0.1 needs more than the DNAT (docs/networking.md has the figures): the
client's socket is routed over ``lo`` (advmss 65483), and the kernel's receive autotuning
is scaled by that advmss (a 64 KB seed instead of 14 KB on the bridge's 1500 MTU route), so
the window stays small for longer.  Podman's DNAT shows it here; cove gives such sockets the
bridge's MSS (network/portmss.py, daemon option ``local-port-mss``).
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
    ("dl_ratio", "-p speed / direct speed", "%"),
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


SIZE = 100 * 1024 * 1024


def _curl(url: str) -> float:
    """curl's own transfer time for one download, in ms."""
    argv = ["curl", "-s", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", url]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    size, _, secs = r.stdout.partition(" ")
    if r.returncode != 0 or int(float(size or 0)) != SIZE:
        raise EngineError(f"download {url} failed: {r.returncode} {r.stdout} {r.stderr[-200:]}")
    return float(secs) * 1000


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
        urls = (f"http://127.0.0.1:{port}/big", f"http://{ip}/big")
        via_port, direct, ratio = [], [], []
        for i in range(max(warmup, 1) + runs):
            # alternate which path goes first: neither profits from the other's warm-up
            if i % 2:
                b, a = _curl(urls[1]), _curl(urls[0])
            else:
                a, b = _curl(urls[0]), _curl(urls[1])
            if i >= max(warmup, 1):
                via_port.append(a)
                direct.append(b)
                ratio.append(100 * b / a)
        return {"dl_port": via_port, "dl_direct": direct, "dl_ratio": ratio}
    finally:
        eng.remove([cid])


CASES = {"run-rm-bridge": case_run_rm_bridge, "port-throughput": case_port_throughput}
