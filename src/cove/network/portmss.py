"""The bridge's MSS for the host's own connections to a published port.

A connection from the host to ``127.0.0.1:8080`` (or to any local address) is routed over
``lo``, whose MTU of 65536 gives the client socket an advertised MSS of 65483.  The DNAT
then sends it over the bridge (MTU 1500), so data arrives in 1448-byte segments while the
kernel's receive autotuning, seeded with ten advertised segments, grows the window as if
they were 64 KB: a 100 MB download runs at 0.8x of the container's own address
(docs/networking.md has the measurements).

A sock_ops program on the cgroup2 root sets ``TCP_MAXSEG`` to the bridge's MSS on the one
occasion that matters, right before the SYN of a host socket whose destination is a
published ``(address, port)``, so such a socket gets the advmss a socket routed over the
bridge gets.  Nothing else changes: other connections, other namespaces, the host's routes.

Map keys are the destination as the program reads it from ``struct bpf_sock_ops``: the IPv4
address in network order, then the port as a network-order 32-bit word.  The address 0
stands for "every local address" (``-p 8080:80``); the program uses it only when the
destination is local: equal to the socket's source, as the kernel picks it for a local
route, or in 127.0.0.0/8.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import struct

from cove.network import bpf

log = logging.getLogger("cove.network")

_HELPER_MAP_LOOKUP, _HELPER_SETSOCKOPT, _HELPER_NETNS_COOKIE = 1, 49, 122
_OP_TCP_CONNECT_CB = 3
_SO_NETNS_COOKIE = 71
# offsets in struct bpf_sock_ops
_OP, _FAMILY, _REMOTE_IP4, _LOCAL_IP4, _REMOTE_PORT = 0, 20, 24, 28, 64
_REMOTE_IP6, _LOCAL_IP6 = 32, 48
_V4_MAPPED = 0xFFFF0000  # the third word of ::ffff:a.b.c.d, read as a little-endian u32

Key = tuple[str, int]  # ("" = every local address, port)


def _program(map_fd: int, netns_cookie: int) -> bytes:
    a = bpf.Asm()
    a.mov(6, 1)  # r6 = ctx, kept across calls
    a.load32(2, 6, _OP)
    a.jump_if("!=", 2, _OP_TCP_CONNECT_CB, "out")
    # the host's own sockets only: a container connecting to its own 127.0.0.1:8080 is not
    # going to a published port
    a.mov(1, 6)
    a.call(_HELPER_NETNS_COOKIE)
    a.load_imm64(2, netns_cookie)
    a.jump_if_reg("!=", 0, 2, "out")
    # r7 = destination, r8 = source, both IPv4 in network order
    a.load32(2, 6, _FAMILY)
    a.jump_if("==", 2, socket.AF_INET, "v4")
    a.jump_if("!=", 2, socket.AF_INET6, "out")
    # an IPv6 socket to ::ffff:a.b.c.d (Java's, Node's) talks IPv4 and is DNATed the same
    for word in (0, 4):
        a.load32(2, 6, _REMOTE_IP6 + word)
        a.jump_if("!=", 2, 0, "out")
    a.load32(2, 6, _REMOTE_IP6 + 8)
    a.mov32_imm(3, _V4_MAPPED)
    a.jump_if_reg("!=", 2, 3, "out")
    a.load32(7, 6, _REMOTE_IP6 + 12)
    a.load32(8, 6, _LOCAL_IP6 + 12)
    a.jump("key")
    a.label("v4")
    a.load32(7, 6, _REMOTE_IP4)
    a.load32(8, 6, _LOCAL_IP4)
    a.label("key")
    a.load32(2, 6, _REMOTE_PORT)
    a.store32(10, -4, 2)
    a.store32(10, -8, 7)  # key = (address, port) at fp-8
    a.load_imm64(1, map_fd, src=1)
    a.mov(2, 10)
    a.add_imm(2, -8)
    a.call(_HELPER_MAP_LOOKUP)
    a.jump_if("!=", 0, 0, "set")
    # the wildcard entry, for a local destination only
    a.jump_if_reg("==", 7, 8, "wildcard")
    a.mov(2, 7)
    a.and_imm(2, 0xFF)  # first octet: the low byte of the network-order word
    a.jump_if("!=", 2, 127, "out")
    a.label("wildcard")
    a.mov_imm(2, 0)
    a.store32(10, -8, 2)
    a.load_imm64(1, map_fd, src=1)
    a.mov(2, 10)
    a.add_imm(2, -8)
    a.call(_HELPER_MAP_LOOKUP)
    a.jump_if("==", 0, 0, "out")
    a.label("set")
    a.load32(4, 0, 0)
    a.store32(10, -12, 4)
    a.mov(1, 6)
    a.mov_imm(2, socket.IPPROTO_TCP)
    a.mov_imm(3, socket.TCP_MAXSEG)
    a.mov(4, 10)
    a.add_imm(4, -12)
    a.mov_imm(5, 4)
    a.call(_HELPER_SETSOCKOPT)
    a.label("out")
    a.mov_imm(0, 1)  # sock_ops programs return 1
    a.exit()
    return a.code()


def _key(key: Key) -> bytes:
    addr, port = key
    return socket.inet_aton(addr or "0.0.0.0") + struct.pack(">I", port)


def _own_netns_cookie() -> int:
    with socket.socket() as s:
        return int(struct.unpack("<Q", s.getsockopt(socket.SOL_SOCKET, _SO_NETNS_COOKIE, 8))[0])


def _detach(cgroup: int, fds: list[int]) -> None:
    """Detach these programs from the cgroup (already gone is fine) and close their fds."""
    for fd in fds:
        with contextlib.suppress(OSError):
            bpf.detach(cgroup, fd, bpf.ATTACH_CGROUP_SOCK_OPS)
        os.close(fd)


class PortMss:
    """One daemon's program and map.  ``name`` tells this daemon's program from the others'
    (and from the one a killed daemon left attached, which ``start`` replaces)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._cgroup = -1
        self._prog = -1
        self._map: bpf.HashMap | None = None
        self._entries: dict[Key, int] = {}
        self._failed = False

    @property
    def active(self) -> bool:
        return self._map is not None

    def apply(self, wanted: dict[Key, int]) -> None:
        """``sync``, loading the program on first need.  A host that can't run it (no
        cgroup2, no BPF) keeps the loopback MSS: said once in the log, never an error."""
        if self._failed or (not wanted and not self.active):
            return
        try:
            if not self.active:
                self.start()
            self.sync(wanted)
        except OSError as e:
            self._failed = True
            self.close()
            log.warning("published ports keep the loopback MSS for host connections: %s", e)

    def drop_stale(self) -> None:
        """Detach the program a killed daemon of this name left behind (daemon start)."""
        root = bpf.cgroup2_root()
        if self.active or not root:
            return
        try:
            cgroup = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        try:
            _detach(cgroup, list(bpf.programs_named(cgroup, bpf.ATTACH_CGROUP_SOCK_OPS, self.name)))
        except OSError:
            pass
        finally:
            os.close(cgroup)

    def start(self) -> None:
        """Load and attach; raises OSError when the kernel or the host can't (no cgroup2
        mount, no CONFIG_CGROUP_BPF, not root).  Stale copies are detached afterwards, so
        there is no moment without one."""
        root = bpf.cgroup2_root()
        if not root:
            raise OSError(errno.ENOENT, "no cgroup2 hierarchy is mounted")
        self._cgroup = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        stale: list[int] = []
        try:
            stale = list(bpf.programs_named(self._cgroup, bpf.ATTACH_CGROUP_SOCK_OPS, self.name))
            self._map = bpf.HashMap(self.name, 8, 4, 4096)
            code = _program(self._map.fd, _own_netns_cookie())
            self._prog = bpf.load_program(bpf.PROG_TYPE_SOCK_OPS, code, self.name)
            bpf.attach(self._cgroup, self._prog, bpf.ATTACH_CGROUP_SOCK_OPS)
        except BaseException:
            for fd in stale:
                os.close(fd)
            self.close()
            raise
        _detach(self._cgroup, stale)

    def sync(self, wanted: dict[Key, int]) -> None:
        """Make the map hold exactly ``wanted`` (destination -> MSS)."""
        if self._map is None:
            return
        for key in [k for k in self._entries if k not in wanted]:
            with contextlib.suppress(FileNotFoundError):
                self._map.delete(_key(key))
            del self._entries[key]
        for key, mss in wanted.items():
            if self._entries.get(key) != mss:
                self._map.put(_key(key), struct.pack("<I", mss))
                self._entries[key] = mss

    def stop(self) -> None:
        """Detach (a clean stop with nothing published) and close."""
        if self._prog >= 0 and self._cgroup >= 0:
            with contextlib.suppress(OSError):
                bpf.detach(self._cgroup, self._prog, bpf.ATTACH_CGROUP_SOCK_OPS)
        self.close()

    def close(self) -> None:
        """Close the fds; an attached program stays attached, with its map, for the
        containers that keep running (the next start replaces it)."""
        if self._map is not None:
            self._map.close()
            self._map = None
        for fd in (self._prog, self._cgroup):
            if fd >= 0:
                os.close(fd)
        self._prog = self._cgroup = -1
        self._entries = {}
