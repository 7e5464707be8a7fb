"""Attach and exec streams: Docker's multiplexed frames and the full-duplex pump.

Without a TTY the daemon sends frames of an 8-byte header (byte 0 the stream: 0 stdin, 1
stdout, 2 stderr, 3 a daemon error; bytes 4-7 the big-endian payload length) plus payload;
with a TTY it sends raw bytes.  ``pump`` copies stdin to the socket (half-closing it at EOF)
and the socket to stdout/stderr until the daemon closes the stream, in one thread with
``select`` so a container that does not read its stdin cannot dead-lock us.
"""

from __future__ import annotations

import _socket
import os
import select

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cove.client.http import Response

STDIN, STDOUT, STDERR, SYSERR = 0, 1, 2, 3
DEFAULT_DETACH_KEYS = b"\x10\x11"  # ctrl-p ctrl-q


class FrameDecoder:
    """Split a byte stream into ``(stream, payload)`` frames; partial frames wait."""

    def __init__(self) -> None:
        self.buf = b""

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self.buf + data
        out = []
        pos = 0
        while len(buf) - pos >= 8:
            size = int.from_bytes(buf[pos + 4 : pos + 8], "big")
            if len(buf) - pos - 8 < size:
                break
            out.append((buf[pos], buf[pos + 8 : pos + 8 + size]))
            pos += 8 + size
        self.buf = buf[pos:]
        return out


def encode_frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


class EscapeDetector:
    """Find the detach sequence in typed input (a TTY session), as docker's CLI does.

    ``feed`` returns the bytes to forward; ``detached`` turns True once the whole sequence
    was typed.  A partial match is held back until the next key decides.
    """

    def __init__(self, keys: bytes = DEFAULT_DETACH_KEYS) -> None:
        self.keys = keys
        self.held = b""
        self.detached = False

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        for b in data:
            if not self.keys:
                out.append(b)
                continue
            if b == self.keys[len(self.held)]:
                self.held += bytes([b])
                if self.held == self.keys:
                    self.detached = True
                    return bytes(out)
                continue
            out += self.held
            self.held = b""
            if b == self.keys[0]:
                self.held = bytes([b])
            else:
                out.append(b)
        return bytes(out)


def parse_detach_keys(spec: str) -> bytes:
    """``ctrl-p,ctrl-q`` -> b"\\x10\\x11"; ValueError on a bad spec."""
    out = bytearray()
    for key in spec.split(","):
        k = key.strip()
        if len(k) == 1:
            out.append(ord(k))
        elif k.startswith("ctrl-") and len(k) == 6:
            c = k[5].lower()
            table = "@abcdefghijklmnopqrstuvwxyz[\\]^_"
            if c not in table:
                raise ValueError(f"Unknown character: '{k}'")
            out.append(table.index(c))
        else:
            raise ValueError(f"Unknown character: '{k}'")
    return bytes(out)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _recv(sock: _socket.socket, would_block: tuple[type[OSError], ...]) -> bytes | None:
    """b"" when the daemon closed the stream, None for a spurious wake-up."""
    try:
        return sock.recv(65536)
    except would_block:
        return None
    except ConnectionResetError:
        return b""


def _would_block(sock: _socket.socket) -> tuple[type[OSError], ...]:
    """What a non-blocking read or write raises when it must wait; a TLS socket also says
    so when a record is only partly there (``ssl`` is loaded already if ``sock`` uses it)."""
    if not hasattr(sock, "pending"):  # not an ssl.SSLSocket
        return (BlockingIOError,)
    import ssl

    return (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class Pump:
    """Run one hijacked session; ``detached`` tells whether the user typed the escape keys."""

    def __init__(
        self,
        resp: Response,
        *,
        tty: bool,
        stdin_fd: int | None = None,
        out_fd: int = 1,
        err_fd: int = 2,
        detach_keys: bytes | None = None,
    ) -> None:
        self.resp = resp
        self.tty = tty
        self.stdin_fd = stdin_fd
        self.out_fd = out_fd
        self.err_fd = err_fd
        self.decoder = None if tty else FrameDecoder()
        self.escape = EscapeDetector(detach_keys) if detach_keys is not None else None
        self.detached = False
        self.errors: list[str] = []

    def deliver(self, data: bytes) -> None:
        if self.decoder is None:
            write_all(self.out_fd, data)
            return
        for stream, payload in self.decoder.feed(data):
            if stream == SYSERR:
                self.errors.append(payload.decode("utf-8", "replace"))
            else:
                write_all(self.err_fd if stream == STDERR else self.out_fd, payload)

    def run(self) -> None:
        sock = self.resp.sock
        if self.resp.reader.buf:
            data, self.resp.reader.buf = self.resp.reader.buf, b""
            self.deliver(data)
        sock.setblocking(False)
        would_block = _would_block(sock)
        buffered = getattr(sock, "pending", None)  # TLS: decrypted bytes select cannot see
        pending = b""
        stdin_open = self.stdin_fd is not None
        write_open = True
        sfd = sock.fileno()
        while True:
            rlist = [sfd]
            wlist = []
            if pending and write_open:
                wlist.append(sfd)
            elif stdin_open and self.stdin_fd is not None:
                rlist.append(self.stdin_fd)
            wait = 0 if buffered is not None and buffered() else None
            readable, writable, _ = select.select(rlist, wlist, [], wait)
            if sfd in readable or wait == 0:
                got = _recv(sock, would_block)
                if got == b"":
                    return
                if got:
                    self.deliver(got)
            if self.stdin_fd is not None and self.stdin_fd in readable:
                try:
                    data = os.read(self.stdin_fd, 32768)
                except OSError:
                    data = b""
                if data and self.escape is not None:
                    data = self.escape.feed(data)
                    if self.escape.detached:
                        self.detached = True
                        return
                    if not data:
                        continue
                if data:
                    pending = data
                else:
                    stdin_open = False
            if sfd in writable:
                try:
                    n = sock.send(pending)
                    pending = pending[n:]
                except would_block:
                    pass
                except OSError:  # the daemon stopped reading: drop the rest of stdin
                    pending, stdin_open, write_open = b"", False, False
            if not stdin_open and not pending and write_open and self.stdin_fd is not None:
                write_open = False
                try:
                    # SHUT_WR: the container sees EOF on its stdin.  Called on the plain
                    # socket: under TLS this is a bare FIN, as the docker CLI sends (the
                    # ssl module's own shutdown would throw the TLS session away)
                    _socket.socket.shutdown(sock, _socket.SHUT_WR)
                except OSError:
                    pass
