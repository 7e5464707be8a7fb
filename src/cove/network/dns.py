"""The embedded DNS server: 127.0.0.11:53 inside every container on a user-defined network.

One UDP socket per container, created inside the container's namespace (``nsutil``) and
served by the daemon's event loop.  Names are looked up in the plain per-network record
files the engine writes (``ip name alias...`` lines, an IPv6 address on a line of its own,
so A and AAAA come from one table; re-read when their mtime changes) plus the container's
own ``--link`` aliases; anything else is relayed unchanged to the upstream resolvers (the
container's ``--dns``, the daemon's ``dns``, or the host's resolv.conf).
What a closed listener leaves behind: nothing (its socket dies with the namespace anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass, field

from cove.network import dnswire
from cove.network.nsutil import in_netns

log = logging.getLogger("cove.dns")
ADDRESS = "127.0.0.11"


class Records:
    """Name -> addresses from record files, each re-read only after it changed."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, dict[str, list[str]]]] = {}

    def lookup(self, path: str, name: str) -> list[str]:
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            return []
        hit = self._cache.get(path)
        if hit is None or hit[0] != mtime:
            table: dict[str, list[str]] = {}
            try:
                with open(path) as f:
                    for line in f:
                        parts = line.split()
                        for n in parts[1:]:
                            table.setdefault(n.lower(), []).append(parts[0])
            except OSError:
                return []
            hit = (mtime, table)
            self._cache[path] = hit
        return hit[1].get(name, [])


def write_records(path: str, entries: list[tuple[str, list[str]]]) -> None:
    """The record file of one network: written whole and renamed into place."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        for ip, names in entries:
            f.write(ip + " " + " ".join(names) + "\n")
    os.replace(tmp, path)


@dataclass
class Listener:
    sock: socket.socket
    record_files: list[str]
    links: dict[str, str]  # alias -> ip
    upstreams: list[str]
    search: list[str] = field(default_factory=list)


class DnsServer:
    def __init__(self) -> None:
        self.records = Records()
        self._listeners: dict[str, Listener] = {}

    def listen(
        self,
        key: str,
        netns: str,
        record_files: list[str],
        links: dict[str, str],
        upstreams: list[str],
    ) -> None:
        """Start (or update) the listener of ``key`` inside ``netns``.  Call on the loop."""
        old = self._listeners.get(key)
        if old is not None:
            old.record_files, old.links, old.upstreams = record_files, links, upstreams
            return

        def make() -> socket.socket:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            s.bind((ADDRESS, 53))
            s.setblocking(False)
            return s

        sock = in_netns(netns, make)
        lst = Listener(sock, record_files, links, upstreams)
        self._listeners[key] = lst
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable, lst)

    def update_links(self, key: str, links: dict[str, str]) -> None:
        """New link aliases for a running listener (a linked container came or went)."""
        lst = self._listeners.get(key)
        if lst is not None:
            lst.links = links

    def close(self, key: str) -> None:
        lst = self._listeners.pop(key, None)
        if lst is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(lst.sock.fileno())
            lst.sock.close()

    def close_all(self) -> None:
        for key in list(self._listeners):
            self.close(key)

    def resolve(self, lst: Listener, name: str) -> list[str]:
        if name in lst.links:
            return [lst.links[name]]
        for path in lst.record_files:
            ips = self.records.lookup(path, name)
            if ips:
                return ips
        return []

    def _readable(self, lst: Listener) -> None:
        for _ in range(64):
            try:
                data, addr = lst.sock.recvfrom(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            q = dnswire.parse_query(data)
            if q is None:
                continue
            ips = self.resolve(lst, q.name) if q.qclass == dnswire.CLASS_IN else []
            if ips:
                reply = dnswire.answer(data, q, ips)
                with contextlib.suppress(OSError):
                    lst.sock.sendto(reply, addr)
                continue
            asyncio.get_running_loop().create_task(self._forward(lst, data, q, addr))

    async def _forward(
        self, lst: Listener, data: bytes, q: dnswire.Question, addr: tuple[str, int]
    ) -> None:
        loop = asyncio.get_running_loop()
        for server in lst.upstreams:
            host, _, port = server.partition("#")
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            s.setblocking(False)
            try:
                await loop.sock_sendto(s, data, (host, int(port or 53)))
                reply = await asyncio.wait_for(loop.sock_recv(s, 4096), 3)
            except (OSError, TimeoutError, ValueError):
                continue
            finally:
                s.close()
            with contextlib.suppress(OSError):
                lst.sock.sendto(reply, addr)
            return
        with contextlib.suppress(OSError):
            lst.sock.sendto(dnswire.error(data, q, dnswire.SERVFAIL), addr)
