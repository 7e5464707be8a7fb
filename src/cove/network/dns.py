"""The embedded DNS server: 127.0.0.11:53 inside every container on a user-defined network.

A UDP and a TCP socket per container, created inside the container's namespace
(``nsutil``) and served by the daemon's event loop.  Names are looked up in the plain
per-network record files the engine writes (``ip name alias...`` lines, an IPv6 address on
a line of its own, so A and AAAA come from one table; re-read when their mtime changes)
plus the container's own ``--link`` aliases; anything else is relayed unchanged to the
upstream resolvers (the container's ``--dns``, the daemon's ``dns``, or the host's
resolv.conf), over the transport the query came in on.  A UDP answer that would not fit
the client's limit (512 bytes, or its EDNS size) is cut and marked truncated, and the
client asks again over TCP, which takes the whole answer (a name many containers share as
an alias).  What a closed listener leaves behind: nothing (its sockets die with the
namespace anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import struct
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

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
    tcp: socket.socket | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)  # relays, TCP clients


_TCP_IDLE = 10.0  # seconds a TCP client may keep an idle connection (RFC 7766 suggests ~10)
_UPSTREAM_TIMEOUT = 3.0


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

        def make() -> tuple[socket.socket, socket.socket]:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            try:
                s.bind((ADDRESS, 53))
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                t.bind((ADDRESS, 53))
                t.listen(16)
            except BaseException:
                s.close()
                t.close()
                raise
            s.setblocking(False)
            t.setblocking(False)
            return s, t

        sock, tcp = in_netns(netns, make)
        lst = Listener(sock, record_files, links, upstreams, tcp=tcp)
        self._listeners[key] = lst
        loop = asyncio.get_running_loop()
        loop.add_reader(sock.fileno(), self._readable, lst)
        loop.add_reader(tcp.fileno(), self._accept, lst)

    def update_links(self, key: str, links: dict[str, str]) -> None:
        """New link aliases for a running listener (a linked container came or went)."""
        lst = self._listeners.get(key)
        if lst is not None:
            lst.links = links

    def close(self, key: str) -> None:
        lst = self._listeners.pop(key, None)
        if lst is None:
            return
        for s in (lst.sock, lst.tcp):
            if s is not None:
                with contextlib.suppress(Exception):
                    asyncio.get_running_loop().remove_reader(s.fileno())
                s.close()
        for task in lst.tasks:
            task.cancel()

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

    def _local(self, lst: Listener, data: bytes, limit: int | None) -> bytes | None:
        """The answer from this host's names; None: the query goes upstream; b"": not a
        query, ignored.  ``limit`` None means the client's UDP limit."""
        q = dnswire.parse_query(data)
        if q is None:
            return b""
        ips = self.resolve(lst, q.name) if q.qclass == dnswire.CLASS_IN else []
        if not ips:
            return None
        return dnswire.answer(data, q, ips, limit=limit or dnswire.udp_limit(data, q))

    def _readable(self, lst: Listener) -> None:
        for _ in range(64):
            try:
                data, addr = lst.sock.recvfrom(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            reply = self._local(lst, data, None)
            if reply is None:
                _track(lst, self._forward_udp(lst, data, addr))
            elif reply:
                with contextlib.suppress(OSError):
                    lst.sock.sendto(reply, addr)

    async def _forward_udp(self, lst: Listener, data: bytes, addr: tuple[str, int]) -> None:
        reply = await self._upstream(lst, data, tcp=False)
        with contextlib.suppress(OSError):
            lst.sock.sendto(reply, addr)

    async def _upstream(self, lst: Listener, data: bytes, tcp: bool) -> bytes:
        """The first upstream's answer to ``data`` (sent unchanged), else SERVFAIL."""
        loop = asyncio.get_running_loop()
        for server in lst.upstreams:
            host, _, port = server.partition("#")
            kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
            s = socket.socket(socket.AF_INET, kind | socket.SOCK_CLOEXEC)
            s.setblocking(False)
            try:
                async with asyncio.timeout(_UPSTREAM_TIMEOUT):
                    if tcp:
                        await loop.sock_connect(s, (host, int(port or 53)))
                        await loop.sock_sendall(s, struct.pack("!H", len(data)) + data)
                        return await _read_message(loop, s)
                    await loop.sock_sendto(s, data, (host, int(port or 53)))
                    return await loop.sock_recv(s, 4096)
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
                continue
            finally:
                s.close()
        q = dnswire.parse_query(data)
        return dnswire.error(data, q, dnswire.SERVFAIL) if q else b""

    def _accept(self, lst: Listener) -> None:
        assert lst.tcp is not None
        for _ in range(16):
            try:
                conn, _addr = lst.tcp.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setblocking(False)
            _track(lst, self._serve_tcp(lst, conn))

    async def _serve_tcp(self, lst: Listener, conn: socket.socket) -> None:
        """Length-prefixed queries (RFC 1035 4.2.2, several per connection, RFC 7766) until
        the client closes or idles."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                async with asyncio.timeout(_TCP_IDLE):
                    data = await _read_message(loop, conn)
                reply = self._local(lst, data, dnswire.TCP_LIMIT)
                if reply is None:
                    reply = await self._upstream(lst, data, tcp=True)
                if not reply:
                    return
                await loop.sock_sendall(conn, struct.pack("!H", len(reply)) + reply)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            conn.close()


def _track(lst: Listener, work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` as a task the listener holds: the loop keeps only weak references to
    tasks, and closing the listener cancels what is still running."""
    task = asyncio.get_running_loop().create_task(work)
    lst.tasks.add(task)
    task.add_done_callback(lst.tasks.discard)


async def _read_message(loop: asyncio.AbstractEventLoop, s: socket.socket) -> bytes:
    """One TCP DNS message: a 2-byte length, then that many bytes."""
    head = await _read_exactly(loop, s, 2)
    return await _read_exactly(loop, s, struct.unpack("!H", head)[0])


async def _read_exactly(loop: asyncio.AbstractEventLoop, s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = await loop.sock_recv(s, n - len(buf))
        if not chunk:
            raise asyncio.IncompleteReadError(buf, n)
        buf += chunk
    return buf
