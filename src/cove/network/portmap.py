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

from cove.errors import Conflict
from cove.network.ports import Mapping

_TYPES = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM}


class PortReservations:
    def __init__(self) -> None:
        self._held: dict[str, list[socket.socket]] = {}

    def reserve(self, owner: str, want: list[Mapping], endpoint: str) -> list[Mapping]:
        """The mappings with their host ports fixed; all or nothing."""
        got: list[Mapping] = []
        socks: list[socket.socket] = []
        try:
            for m in want:
                kind = _TYPES.get(m.proto)
                if kind is None:  # sctp: no socket to hold, take the port as given
                    got.append(m)
                    continue
                s = socket.socket(socket.AF_INET, kind | socket.SOCK_CLOEXEC)
                try:
                    if kind == socket.SOCK_STREAM:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((m.host_ip or "0.0.0.0", m.host_port))
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
                socks.append(s)
                got.append(Mapping(m.proto, m.container_port, m.host_ip, s.getsockname()[1]))
        except BaseException:
            for s in socks:
                s.close()
            raise
        self._held.setdefault(owner, []).extend(socks)
        return got

    def release(self, owner: str) -> None:
        for s in self._held.pop(owner, []):
            with contextlib.suppress(OSError):
                s.close()
