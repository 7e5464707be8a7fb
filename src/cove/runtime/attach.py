"""A client of conmon's attach socket, as an ``AttachSession``.

The protocol (conmon's conn_sock.c and ctr_stdio.c): the socket is ``SOCK_SEQPACKET``
named ``attach`` in the bundle (or exec) directory.  Each message conmon sends is one
read of the container's stdout or stderr, prefixed by one byte naming the pipe (2 =
stdout, 3 = stderr; a TTY's output is always 2).  What the client sends is written to the
container's stdin (when conmon was started with ``-i``); conmon reads at most 32 KiB per
message, so writes go out in smaller messages.  A client's half-close (``SHUT_WR``) makes
conmon close the container's stdin, unless it runs with ``--leave-stdin-open``.  conmon
closes every client after draining the output of an exited container: EOF.

The socket path can exceed sun_path's 108 bytes; like conmon, we reach it through
``/proc/self/fd/<dirfd>/attach`` with the directory opened O_PATH.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

from cove.errors import Conflict
from cove.util.streams import STDERR, STDOUT, Chunk

_PIPE_STDOUT, _PIPE_STDERR = 2, 3
_RECV_SIZE = 65536
_SEND_CHUNK = 16384  # well under conmon's CONN_SOCK_BUF_SIZE (32768)


class ConmonAttach:
    """An attach session; ``read`` returns None at EOF or after ``close``."""

    def __init__(self, sock: socket.socket, tty: bool) -> None:
        sock.setblocking(False)
        self._sock = sock
        self.tty = tty
        self._closed = False
        self._waiters: set[asyncio.Future[None]] = set()

    async def _wait(self, writable: bool) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        fd = self._sock.fileno()

        def wake() -> None:
            if not fut.done():
                fut.set_result(None)

        add, remove = (
            (loop.add_writer, loop.remove_writer)
            if writable
            else (loop.add_reader, loop.remove_reader)
        )
        add(fd, wake)
        self._waiters.add(fut)
        try:
            await fut
        finally:
            self._waiters.discard(fut)
            if not self._closed:
                remove(fd)

    async def read(self) -> Chunk | None:
        while not self._closed:
            try:
                data = self._sock.recv(_RECV_SIZE)
            except BlockingIOError:
                await self._wait(writable=False)
                continue
            except OSError:
                return None
            if not data:
                return None
            if len(data) < 2:
                continue
            stream = STDERR if data[0] == _PIPE_STDERR else STDOUT
            return Chunk(stream, data[1:])
        return None

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._closed:
            chunk = view[:_SEND_CHUNK]
            try:
                self._sock.send(chunk)
            except BlockingIOError:
                await self._wait(writable=True)
                continue
            except OSError as e:
                raise Conflict(f"cannot write to the container's stdin: {e.strerror}") from e
            view = view[len(chunk) :]

    async def close_stdin(self) -> None:
        if not self._closed:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_WR)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        fd = self._sock.fileno()
        loop.remove_reader(fd)
        loop.remove_writer(fd)
        for fut in list(self._waiters):
            if not fut.done():
                fut.set_result(None)
        self._sock.close()


async def connect(directory: str, tty: bool) -> ConmonAttach:
    """Connect to ``<directory>/attach``.  Raises FileNotFoundError or
    ConnectionRefusedError when no monitor listens there."""
    dirfd = os.open(directory, os.O_PATH | os.O_CLOEXEC)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    try:
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, f"/proc/self/fd/{dirfd}/attach")
    except BaseException:
        sock.close()
        raise
    finally:
        os.close(dirfd)
    return ConmonAttach(sock, tty)
