"""Overlay case (issue 8): a two-host cluster of cove daemons (each in its own network
namespace, one etcd on a veth underlay; built by the integration suite's ``cluster``), then

* throughput: busybox ``nc`` pushing 100 MB from a container on host B to one on host A
  over the overlay, against the same push between the two hosts' own namespaces over the
  underlay (timed by the sender with /proc/uptime around the push);
* name resolution: from ``run -d`` returning on host A to the first DNS answer for the new
  name inside a container on host B (polled every 2 ms from that container's namespace).

Only cove has cluster-store overlay networks here: the other engines are n/a.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from peers import Engine, EngineError

METRICS = [
    ("ovl_mbps", "nc 100 MB over the overlay", "MB/s"),
    ("ul_mbps", "nc 100 MB over the underlay", "MB/s"),
    ("ovl_tcp", "TCP 1 GB over the overlay", "MB/s"),
    ("ul_tcp", "TCP 1 GB over the underlay", "MB/s"),
    ("ovl_eff", "TCP over the overlay per CPU-second", "MB/cpu-s"),
    ("ul_eff", "TCP over the underlay per CPU-second", "MB/cpu-s"),
    ("ovl_dns", "new name resolvable on other host", "ms"),
]
MB = 100  # busybox nc manages ~50 MB/s here: 100 MB keeps the case to about a minute

# one lookup loop, run inside the resolver container's namespace: prints the monotonic time
# of the first answer (CLOCK_MONOTONIC is shared by every process, so it compares with ours)
_POLL = r"""
import socket, struct, sys, time
name = sys.argv[1].encode()
q = struct.pack(">HHHHHH", 7, 0x100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p for p in name.split(b".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.002)
end = time.monotonic() + 20
while time.monotonic() < end:
    s.sendto(q, ("127.0.0.11", 53))
    try:
        r = s.recv(512)
    except OSError:
        continue
    if struct.unpack(">H", r[6:8])[0] > 0:
        print(time.monotonic()); sys.exit(0)
    time.sleep(0.002)
sys.exit(1)
"""


# busybox nc moves data in small reads and writes, so it is the bottleneck on both paths; this
# pair (1 MiB writes, run with nsenter in the same network namespaces) measures the path.
# Both ends also report the CPU time they used (user + system: the kernel's work for the
# path, softirqs included, runs in their context here), so MB per CPU-second tells the
# paths' cost apart even when other load on the machine steals CPU from a run.
_SINK = r"""
import resource, socket, sys
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1); print("ready", flush=True)
while True:
    c, _ = s.accept()
    t0 = cpu()
    while c.recv(1 << 20):
        pass
    c.sendall(str(cpu() - t0).encode()); c.close()
"""
_PUSH = r"""
import resource, socket, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
buf = bytes(1 << 20)
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
t0, c0 = time.monotonic(), cpu()
for _ in range(1024):
    c.sendall(buf)
c.shutdown(socket.SHUT_WR)
peer = float(c.recv(64))
took, used = time.monotonic() - t0, cpu() - c0 + peer
print(1024 / took, 1024 / max(used, 1e-3))
"""


def _sink(ns: str, port: int) -> subprocess.Popen[str]:
    srv = subprocess.Popen(
        ["nsenter", f"--net={ns}", sys.executable, "-c", _SINK, str(port)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert srv.stdout is not None
    srv.stdout.readline()
    return srv


def _tcp_push(ns: str, ip: str, port: int) -> tuple[float, float]:
    r = subprocess.run(
        ["nsenter", f"--net={ns}", sys.executable, "-c", _PUSH, ip, str(port)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if r.returncode != 0:
        raise EngineError(f"tcp push failed: {r.stderr[-300:]}")
    rate, eff = r.stdout.split()
    return float(rate), float(eff)


def _push(client: list[str]) -> float:
    """MB/s of one push; the client prints /proc/uptime (10 ms ticks) around it."""
    r = subprocess.run(client, capture_output=True, text=True, timeout=120)
    ticks = [float(ln.split()[0]) for ln in r.stdout.splitlines() if ln.strip()]
    if r.returncode != 0 or len(ticks) != 2:
        raise EngineError(f"push failed: {r.returncode} {r.stdout[-200:]} {r.stderr[-300:]}")
    return MB / max(ticks[1] - ticks[0], 0.01)


def _script(nc: str, ip: str, port: int) -> str:
    return (
        f"cat /proc/uptime; dd if=/dev/zero bs=1M count={MB} 2>/dev/null | {nc} {ip} {port} "
        "&& cat /proc/uptime"
    )


def case_overlay(eng: Engine, runs: int, warmup: int) -> dict[str, list[float]]:
    if eng.name != "cove":
        return {}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)
    from tests.integration.overlay.cluster import cluster

    out: dict[str, list[float]] = {"ovl_mbps": [], "ul_mbps": [], "ovl_dns": []}
    out["ovl_tcp"], out["ul_tcp"], out["ovl_eff"], out["ul_eff"] = [], [], [], []
    bb = "/bin/busybox"
    with cluster(2, ttl=5) as cl:
        a, b = cl.hosts
        a.cove("network", "create", "-d", "overlay", "benchnet", check=True)
        # a listener that takes one push after another (an exec'd nc would outlive its client)
        loop = "while true; do nc -l -p 5000 -e dd of=/dev/null 2>/dev/null; done"
        a.cove("run", "-d", "--network", "benchnet", "--name", "sink", "busybox",
               "sh", "-c", loop, check=True)  # fmt: skip
        b.cove("run", "-d", "--network", "benchnet", "--name", "src", "--dns", "127.0.0.1",
               "busybox", "sleep", "1000", check=True)  # fmt: skip
        ip = a.cove(
            "inspect", "-f", "{{.NetworkSettings.Networks.benchnet.IPAddress}}", "sink"
        ).stdout.strip()
        pid = b.cove("inspect", "-f", "{{.State.Pid}}", "src").stdout.strip()
        bb_ns = f"--net=/run/netns/{cl.host_ns[0]}"
        # the underlay's listener: one connection after another, data dropped by dd
        ul_srv = subprocess.Popen(
            ["nsenter", bb_ns, "sh", "-c",
             f"while true; do {bb} nc -l -p 5001 -e {bb} dd of=/dev/null 2>/dev/null; done"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        time.sleep(0.5)
        try:
            for i in range(warmup + runs):
                ovl = _push([*_cove(b), "exec", "src", "sh", "-c", _script("nc", ip, 5000)])
                ul = _push(
                    ["nsenter", f"--net=/run/netns/{cl.host_ns[1]}", "sh", "-c",
                     _script(f"{bb} nc", cl.host_addrs[0], 5001)]
                )  # fmt: skip
                if i >= warmup:
                    out["ovl_mbps"].append(ovl)
                    out["ul_mbps"].append(ul)
        finally:
            os.killpg(ul_srv.pid, 9)
            ul_srv.wait()
        sink_pid = a.cove("inspect", "-f", "{{.State.Pid}}", "sink").stdout.strip()
        # overlay and underlay pushes alternate, so the machine's drift hits both alike
        sinks = [
            _sink(f"/proc/{sink_pid}/ns/net", 5002),
            _sink(f"/run/netns/{cl.host_ns[0]}", 5003),
        ]
        try:
            for i in range(warmup + runs):
                o = _tcp_push(f"/proc/{pid}/ns/net", ip, 5002)
                u = _tcp_push(f"/run/netns/{cl.host_ns[1]}", cl.host_addrs[0], 5003)
                if i >= warmup:
                    out["ovl_tcp"].append(o[0])
                    out["ul_tcp"].append(u[0])
                    out["ovl_eff"].append(o[1])
                    out["ul_eff"].append(u[1])
        finally:
            for srv in sinks:
                srv.kill()
                srv.wait()
        for i in range(warmup + runs):
            name = f"fresh{i}"
            poll = subprocess.Popen(
                ["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c", _POLL, name],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            time.sleep(0.2)
            a.cove("run", "-d", "--network", "benchnet", "--name", name, "busybox",
                   "sleep", "1000", check=True)  # fmt: skip
            started = time.monotonic()
            got, _ = poll.communicate(timeout=30)
            if i >= warmup and got.strip():
                out["ovl_dns"].append(max(0.0, (float(got) - started) * 1000))
            a.cove("rm", "-f", name)
    return out


def _cove(d: Any) -> list[str]:
    from tests.daemon_fixture import tool

    return ["env", f"COVE_HOST={d.host}", tool("cove")]


CASES = {"overlay": case_overlay}
