"""Socket-level helpers of the API server: listening sockets and peer-state probes.

The probes use what Linux tells about AF_UNIX peers (bytes they have not read yet, a full
close) to keep the hijacked streams correct; on other sockets they degrade to no-ops.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import select
import socket
import stat
import sys
import termios

from cove.errors import SystemError_

HANGUP_POLL = 0.5  # seconds between checks for a departed client after its EOF


def bind_unix(path: str, mode: int = 0o660) -> socket.socket:
    """A bound AF_UNIX socket at ``path`` (a stale socket file is replaced) with ``mode``."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode):
            raise SystemError_(f"cannot listen on {path}: it exists and is not a socket")
        os.unlink(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o777 & ~mode)  # no window in which the socket is wider than ``mode``
    try:
        sock.bind(path)
    except BaseException:
        sock.close()
        raise
    finally:
        os.umask(old)
    os.chmod(path, mode)
    return sock


def listen_backlog() -> int:
    """The largest accept queue the kernel grants (``net.core.somaxconn``; Linux caps a
    larger ``listen`` argument to it anyway): a burst of clients waits in the queue
    instead of being refused at connect, as with asyncio's default of 100."""
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return max(128, int(f.read().strip()))
    except (OSError, ValueError):
        return 4096


def parse_tcp_address(address: str) -> tuple[str, int]:
    """``host:port``, ``tcp://host:port`` or ``[::1]:port`` -> (host, port)."""
    rest = address.removeprefix("tcp://").rstrip("/")
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemError_(f"invalid TCP address: {address}")
    return host.strip("[]") or "0.0.0.0", int(port)


async def wait_peer_read(writer: asyncio.StreamWriter, timeout: float = 1.0) -> None:
    """Wait until a unix-socket peer has read everything we sent.

    Clients such as docker-py read the 101 head through a buffered reader and then switch to
    the raw socket: stream bytes that arrived together with the head would be lost.  On
    AF_UNIX, TIOCOUTQ (SIOCOUTQ) counts bytes the peer has not consumed yet.
    """
    sock = writer.get_extra_info("socket")
    if sock is None or sock.family != socket.AF_UNIX:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if writer.transport.get_write_buffer_size() == 0:
            try:
                out = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
            except OSError:
                return
            if int.from_bytes(out, sys.byteorder) == 0:
                return
        await asyncio.sleep(0.001)


async def wait_hangup(writer: asyncio.StreamWriter) -> None:
    """Returns once a unix-socket peer has closed both directions.

    A half-close only ends stdin (the docker CLI half-closes at once when it has no stdin),
    so reading EOF cannot tell a departed client; POLLHUP can, on AF_UNIX.  Elsewhere a
    departed client is noticed at the next write.
    """
    sock = writer.get_extra_info("socket")
    if sock is None or sock.family != socket.AF_UNIX:
        await asyncio.get_running_loop().create_future()
        return
    poller = select.poll()
    poller.register(sock.fileno(), 0)  # POLLHUP and POLLERR are always reported
    while not poller.poll(0):
        await asyncio.sleep(HANGUP_POLL)
