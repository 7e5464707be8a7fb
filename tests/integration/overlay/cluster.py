"""A cluster on one machine: N "hosts" (a coved each in its own network namespace), an
underlay bridge in a further namespace joining them by veth, and one etcd on the underlay.

Every name carries a random suffix, so parallel runs never clash; nothing has a route off
the machine (the namespaces have no default route), so no packet can leave it.  Teardown
removes containers, daemons, etcd, the namespaces (with every link and nft table in them)
and the temp dir.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.daemon_fixture import Daemon, _kill_monitors, _unmount_under

ETCD_PORT = 2379


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _free_octet() -> int:
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    used += subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    start = int.from_bytes(os.urandom(1), "big")
    for i in range(250):
        x = 1 + (start + i) % 250
        if f"10.198.{x}." not in used:
            return x
    return 1 + start % 250


@dataclass
class Cluster:
    base: str
    suffix: str
    underlay_ns: str
    etcd_addr: str
    hosts: list[Daemon] = field(default_factory=list)
    host_ns: list[str] = field(default_factory=list)
    host_addrs: list[str] = field(default_factory=list)
    etcd: subprocess.Popen[bytes] | None = None

    def in_ns(self, ns: str, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["nsenter", f"--net=/run/netns/{ns}", *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def etcd_up(self) -> bool:
        r = self.in_ns(
            self.underlay_ns, "curl", "-s", "-m", "1", f"http://{self.etcd_addr}:{ETCD_PORT}/health"
        )
        return '"health":"true"' in r.stdout

    def stop_etcd(self) -> None:
        if self.etcd is not None and self.etcd.poll() is None:
            self.etcd.terminate()
            try:
                self.etcd.wait(10)
            except subprocess.TimeoutExpired:
                self.etcd.kill()
                self.etcd.wait()

    def start_etcd(self) -> None:
        url = f"http://{self.etcd_addr}:{ETCD_PORT}"
        logf = open(os.path.join(self.base, "etcd.log"), "ab")  # noqa: SIM115 - the child's
        self.etcd = subprocess.Popen(
            [
                "nsenter", f"--net=/run/netns/{self.underlay_ns}", "etcd",
                "--name", "e", "--data-dir", os.path.join(self.base, "etcd"),
                "--listen-client-urls", url, "--advertise-client-urls", url,
                "--listen-peer-urls", "http://127.0.0.1:2380",
                "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
                "--initial-cluster", "e=http://127.0.0.1:2380",
            ],
            stdout=logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        logf.close()
        deadline = time.time() + 30
        while not self.etcd_up():
            if time.time() > deadline or self.etcd.poll() is not None:
                raise RuntimeError("etcd did not start")
            time.sleep(0.2)


@contextlib.contextmanager
def cluster(n: int = 2, ttl: int = 4, busybox: bool = True) -> Iterator[Cluster]:
    suffix = os.urandom(3).hex()
    x = _free_octet()
    base = tempfile.mkdtemp(prefix="cove-ovl-", dir="/tmp")
    cl = Cluster(base, suffix, f"coveul-{suffix}", f"10.198.{x}.1")
    made: list[str] = []
    try:
        _ip("netns", "add", cl.underlay_ns)
        made.append(cl.underlay_ns)
        ul = ["-n", cl.underlay_ns]
        _ip(*ul, "link", "set", "lo", "up")
        _ip(*ul, "link", "add", "ul", "type", "bridge")
        _ip(*ul, "addr", "add", f"{cl.etcd_addr}/24", "dev", "ul")
        _ip(*ul, "link", "set", "ul", "up")
        for i in range(n):
            ns = f"covehost{chr(65 + i)}-{suffix}"
            _ip("netns", "add", ns)
            made.append(ns)
            addr = f"10.198.{x}.{11 + i}"
            _ip(*ul, "link", "add", f"h{i}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip(*ul, "link", "set", f"h{i}", "master", "ul", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            cl.host_ns.append(ns)
            cl.host_addrs.append(addr)
        cl.start_etcd()
        for i, ns in enumerate(cl.host_ns):
            hb = os.path.join(base, f"host{chr(65 + i)}")
            os.makedirs(hb)
            with open(os.path.join(hb, "daemon.json"), "w") as f:
                import json

                json.dump(
                    {
                        "cluster-store": f"etcd://{cl.etcd_addr}:{ETCD_PORT}",
                        "cluster-advertise": "eth0",
                        "cluster-store-opts": {"discovery.ttl": str(ttl)},
                    },
                    f,
                )
            d = Daemon(
                base=hb,
                socket=os.path.join(hb, "cove.sock"),
                data_root=os.path.join(hb, "data"),
                exec_root=os.path.join(hb, "run"),
                log=os.path.join(hb, "coved.log"),
                wrap=["nsenter", f"--net=/run/netns/{ns}"],
            )
            d.env = {**os.environ, "COVE_HOST": d.host, "DOCKER_HOST": d.host,
                     "COVE_NO_AUTOSTART": "1"}  # fmt: skip
            cl.hosts.append(d)
            d.start()
            if busybox:
                d.import_busybox()
        yield cl
    finally:
        for d in cl.hosts:
            with contextlib.suppress(Exception):
                if d.proc is not None and d.proc.poll() is None:
                    ids = d.cove("ps", "-aq").stdout.split()
                    if ids:
                        d.cove("rm", "-f", *ids)
            d.stop()
            _kill_monitors(d.exec_root)
            _unmount_under(d.base)
        cl.stop_etcd()
        for ns in reversed(made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def kill9(d: Daemon) -> None:
    """The host dies: coved gone at once, nothing cleaned up by it."""
    if d.proc is not None:
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        d.proc = None
