"""Fixtures for the network suite: a namespace standing in for another host, helpers.

Everything created here (namespaces, veth pairs, sockets) is removed at teardown; no
packet is sent to an address outside this machine.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from cove.network import dnswire
from cove.network.nsutil import in_netns
from tests.daemon_fixture import Daemon


def sh(*args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} -> {r.returncode}: {r.stderr}")
    return r


def free_port() -> int:
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def host_ip() -> str:
    """An address of this host that is not loopback (eth0's here)."""
    out = sh("ip", "-4", "-o", "addr", "show", "scope", "global").stdout
    for line in out.splitlines():
        parts = line.split()
        if not parts[1].startswith(("cv", "br-", "docker", "cni", "podman")):
            return parts[3].split("/")[0]
    raise AssertionError("no global IPv4 address")


def inspect(daemon: Daemon, ref: str) -> dict:  # type: ignore[type-arg]
    r = daemon.cove("inspect", ref, check=True)
    return json.loads(r.stdout)[0]  # type: ignore[no-any-return]


def http_get(url: str, timeout: float = 5) -> str:
    r = subprocess.run(["curl", "-s", "-m", str(timeout), url], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else f"<curl failed {r.returncode}>"


def wait_http(url: str, want: str, tries: int = 30) -> str:
    got = ""
    for _ in range(tries):
        got = http_get(url, 2)
        if want in got:
            return got
        time.sleep(0.1)
    return got


@dataclass
class OtherHost:
    """A namespace wired to the host by a veth pair: traffic from it arrives as from
    another machine."""

    name: str
    host_if: str
    host_addr: str
    addr: str

    def run(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.name, *args, check=False, timeout=timeout)


@pytest.fixture
def other_host() -> Iterator[OtherHost]:
    tag = os.urandom(3).hex()
    used = sh("ip", "-4", "route").stdout
    n = next(x for x in range(10, 250) if f"10.198.{x}." not in used)
    h = OtherHost(f"covet{tag}", f"cvo{tag}", f"10.198.{n}.1", f"10.198.{n}.2")
    sh("ip", "netns", "add", h.name)
    try:
        sh("ip", "link", "add", h.host_if, "type", "veth", "peer", "name", "eth0", "netns", h.name)
        sh("ip", "addr", "add", f"{h.host_addr}/24", "dev", h.host_if)
        sh("ip", "link", "set", h.host_if, "up")
        sh("ip", "-n", h.name, "addr", "add", f"{h.addr}/24", "dev", "eth0")
        sh("ip", "-n", h.name, "link", "set", "eth0", "up")
        sh("ip", "-n", h.name, "link", "set", "lo", "up")
        sh("ip", "-n", h.name, "route", "add", "default", "via", h.host_addr)
        yield h
    finally:
        sh("ip", "link", "del", h.host_if, check=False)
        sh("ip", "netns", "del", h.name, check=False)


def free_subnet() -> str:
    """A /24 of 10.197.0.0/16 no route uses: suites of parallel daemons never share one."""
    used = sh("ip", "-4", "route").stdout
    start = int.from_bytes(os.urandom(1), "big")
    for i in range(256):
        x = (start + i) % 250 + 2
        if f"10.197.{x}." not in used:
            return f"10.197.{x}.0/24"
    raise AssertionError("no free test subnet")


def create_network(daemon: Daemon, *opts: str) -> str:
    name = unique("net")
    daemon.cove("network", "create", "--subnet", free_subnet(), *opts, name, check=True)
    return name


def unique(prefix: str) -> str:
    return f"{prefix}{os.urandom(3).hex()}"


class FakeUpstream:
    """A DNS server in the stand-in host's namespace answering one name
    (outside.example.test -> 10.9.9.9), over UDP or, with ``tcp``, over TCP."""

    def __init__(self, netns: str, addr: str, tcp: bool = False) -> None:
        kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
        self.sock = in_netns(netns, lambda: socket.socket(socket.AF_INET, kind))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, 53))
        if tcp:
            self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.stop = False
        self.asked: list[str] = []
        self.thread = threading.Thread(target=self._tcp if tcp else self._udp, daemon=True)
        self.thread.start()

    def _reply(self, data: bytes) -> bytes | None:
        q = dnswire.parse_query(data)
        if q is None:
            return None
        self.asked.append(q.name)
        if q.name == "outside.example.test":
            return dnswire.answer(data, q, ["10.9.9.9"])
        return dnswire.error(data, q, dnswire.NXDOMAIN)

    def _udp(self) -> None:
        while not self.stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._reply(data)
            if reply is not None:
                self.sock.sendto(reply, peer)

    def _tcp(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                f = conn.makefile("rb")
                (n,) = struct.unpack("!H", f.read(2))
                reply = self._reply(f.read(n))
                if reply is not None:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        self.sock.close()
