"""Edge module: host ports reserved by holding a bound socket, as dockerd does.

The socket never accepts anything (DNAT sends the traffic to the container before it could
reach it); it makes the port "taken" for everyone else, so a second container or a host
process cannot claim it, and makes a port already in use fail the container's start.

A TCP reservation binds with ``SO_REUSEADDR`` and listens, as docker-proxy does: the kernel
then lets it take a port that only TIME_WAIT sockets (closed connections) still hold, while
a port with a live listener (another reservation included) still refuses the bind.  Without
the listen, a second ``SO_REUSEADDR`` socket could bind the same port.  UDP keeps a plain
bind: there ``SO_REUSEADDR`` would let two sockets share the port.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Protocol

from cove.errors import Conflict, InvalidArgument
from cove.network.ports import Mapping

_TYPES = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM}
_RANDOM_TRIES = 8


class HostForwarder(Protocol):
    """A rootless daemon's way to the host's ports (network/usermode.py): the port is held
    in the daemon's own namespace as usual, and the host's side forwarded into it."""

    def add(self, m: Mapping, endpoint: str) -> int: ...

    def remove(self, ident: int) -> None: ...


class PortReservations:
    def __init__(self, forwarder: HostForwarder | None = None) -> None:
        self._held: dict[str, list[socket.socket]] = {}
        self._forwarder = forwarder
        self._forwards: dict[str, list[int]] = {}

    def rule_ip(self, m: Mapping) -> str:
        """The address a port rule matches in the daemon's namespace: forwarded traffic
        arrives on the user-mode network's address, whatever host address it was for."""
        return "" if self._forwarder is not None else m.host_ip

    def reserve(self, owner: str, want: list[Mapping], endpoint: str) -> list[Mapping]:
        """The mappings with their host ports fixed; all or nothing."""
        got: list[Mapping] = []
        socks: list[socket.socket] = []
        forwards: list[int] = []
        try:
            for m in want:
                kind = _TYPES.get(m.proto)
                if kind is None and self._forwarder is not None:
                    raise InvalidArgument(f"rootless mode cannot publish {m.proto} ports")
                if kind is None:  # sctp: no socket to hold, take the port as given
                    got.append(m)
                    continue
                if self._forwarder is None:
                    s = self._hold(m, kind, endpoint)
                    fixed = Mapping(m.proto, m.container_port, m.host_ip, s.getsockname()[1])
                else:
                    s, fixed, ident = self._forwarded(m, kind, endpoint)
                    forwards.append(ident)
                socks.append(s)
                got.append(fixed)
        except BaseException:
            for s in socks:
                s.close()
            self._unforward(forwards)
            raise
        self._held.setdefault(owner, []).extend(socks)
        self._forwards.setdefault(owner, []).extend(forwards)
        return got

    def _hold(self, m: Mapping, kind: int, endpoint: str) -> socket.socket:
        """A socket bound to the mapping's port (a free one for port 0); Conflict if taken."""
        s = socket.socket(socket.AF_INET, kind | socket.SOCK_CLOEXEC)
        try:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((self.rule_ip(m) or "0.0.0.0", m.host_port))
            if kind == socket.SOCK_STREAM:
                s.listen(1)  # holds the port against other SO_REUSEADDR binds
        except OSError:
            s.close()
            ip = m.host_ip or "0.0.0.0"
            raise Conflict(
                f"driver failed programming external connectivity on endpoint "
                f"{endpoint}: Bind for {ip}:{m.host_port} failed: port is already "
                "allocated"
            ) from None
        return s

    def _forwarded(
        self, m: Mapping, kind: int, endpoint: str
    ) -> tuple[socket.socket, Mapping, int]:
        """Hold the port here and have the host's forwarded to it.  A free port of the
        daemon's namespace may be taken on the host: a random one (host_port 0) tries
        others, holding each tried port until the end so none comes back."""
        assert self._forwarder is not None
        tries = _RANDOM_TRIES if m.host_port == 0 else 1
        tried: list[socket.socket] = []
        try:
            for attempt in range(tries):
                s = self._hold(m, kind, endpoint)
                tried.append(s)
                fixed = Mapping(m.proto, m.container_port, m.host_ip, s.getsockname()[1])
                try:
                    ident = self._forwarder.add(fixed, endpoint)
                except Conflict:
                    if attempt + 1 == tries:
                        raise
                    continue
                tried.remove(s)
                return s, fixed, ident
            raise AssertionError("unreachable")
        finally:
            for other in tried:
                other.close()

    def _unforward(self, idents: list[int]) -> None:
        if self._forwarder is not None:
            for ident in idents:
                self._forwarder.remove(ident)

    def release(self, owner: str) -> None:
        self._unforward(self._forwards.pop(owner, []))
        for s in self._held.pop(owner, []):
            with contextlib.suppress(OSError):
                s.close()
