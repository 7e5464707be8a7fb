"""A small HTTP/1.1 client over a unix socket.

Written by hand because ``http.client`` drags in ``email.*`` and costs milliseconds on every
``cove ps``.  It speaks exactly what the Engine API needs: a request with an optional body
(bytes, or an iterator of chunks sent with ``Transfer-Encoding: chunked``), a response read by
``Content-Length``, chunked coding or until close, and, for attach and exec, handing the raw
socket over once the server answered ``101 UPGRADED``.  One connection per request: unix
sockets are cheap to open and this keeps state out of the client.
"""

from __future__ import annotations

import _socket

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

# where coved listens unless told otherwise (here, so autostart need not import api.py)
DEFAULT_HOST = "unix:///run/cove.sock"
_MAX_HEAD = 64 * 1024


class ProtocolError(Exception):
    """The server's answer is not HTTP as we know it."""


class Reader:
    """Buffered reads from a socket; ``buf`` holds bytes received but not consumed yet."""

    def __init__(self, sock: _socket.socket, buf: bytes = b"") -> None:
        self.sock = sock
        self.buf = buf

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def readline(self) -> bytes:
        """One line including its CRLF; what is left at EOF otherwise."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[: i + 1], self.buf[i + 1 :]
                return line
            if len(self.buf) > _MAX_HEAD:
                raise ProtocolError("line too long")
            if not self._fill():
                line, self.buf = self.buf, b""
                return line

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ProtocolError("connection closed in the middle of a body")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_some(self) -> bytes:
        """Whatever is buffered, or the next recv; b"" at EOF."""
        if not self.buf and not self._fill():
            return b""
        data, self.buf = self.buf, b""
        return data


class Response:
    """Status line and headers read; the body is read on demand."""

    def __init__(self, reader: Reader, status: int, reason: str, headers: dict[str, str]) -> None:
        self.reader = reader
        self.status = status
        self.reason = reason
        self.headers = headers  # names lower-cased

    @property
    def sock(self) -> _socket.socket:
        return self.reader.sock

    def iter_body(self) -> Iterator[bytes]:
        """Body pieces as they arrive, de-chunked; ends at the end of the body."""
        h = self.headers
        if self.status in (204, 304) or 100 <= self.status < 200:
            return
        if "chunked" in h.get("transfer-encoding", "").lower():
            yield from self._iter_chunked()
        elif "content-length" in h:
            left = int(h["content-length"])
            while left > 0:
                data = self.reader.read_some()
                if not data:
                    raise ProtocolError("connection closed in the middle of a body")
                if len(data) > left:
                    self.reader.buf, data = data[left:], data[:left]
                left -= len(data)
                yield data
        else:
            while data := self.reader.read_some():
                yield data

    def _iter_chunked(self) -> Iterator[bytes]:
        r = self.reader
        while True:
            line = r.readline()
            if not line:
                raise ProtocolError("connection closed in the middle of a chunked body")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while r.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            left = size
            while left > 0:
                data = r.read_some()
                if not data:
                    raise ProtocolError("connection closed in the middle of a chunk")
                if len(data) > left:
                    r.buf, data = data[left:], data[:left]
                left -= len(data)
                yield data
            r.readline()  # the CRLF after the chunk

    def read(self) -> bytes:
        return b"".join(self.iter_body())

    def iter_lines(self) -> Iterator[bytes]:
        """Newline-delimited records (JSON progress streams, events)."""
        pending = b""
        for data in self.iter_body():
            pending += data
            *lines, pending = pending.split(b"\n")
            yield from (line for line in lines if line.strip())
        if pending.strip():
            yield pending

    def close(self) -> None:
        self.reader.sock.close()


def connect_unix(path: str, timeout: float | None = None) -> _socket.socket:
    """Connect to ``path``; OSError (FileNotFoundError, ConnectionRefusedError...) on failure."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return sock


def send_request(
    sock: _socket.socket,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes | Iterable[bytes] | None,
) -> None:
    head = [f"{method} {target} HTTP/1.1", "Host: localhost"]
    head += [f"{k}: {v}" for k, v in headers]
    if body is None:
        if method in ("POST", "PUT"):
            head.append("Content-Length: 0")
    elif isinstance(body, bytes):
        head.append(f"Content-Length: {len(body)}")
    else:
        head.append("Transfer-Encoding: chunked")
    data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
    if isinstance(body, bytes):
        sock.sendall(data + body)
        return
    sock.sendall(data)
    if body is not None:
        try:
            for chunk in body:
                if chunk:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            # the daemon stopped reading (a load that failed half way, e.g. a full disk)
            # and has answered already: the answer, not the broken pipe, tells the user why
            pass


def read_response(sock: _socket.socket) -> Response:
    """Read the status line and headers (skipping 100 Continue)."""
    reader = Reader(sock)
    while True:
        line = reader.readline()
        if not line:
            raise ProtocolError("the server closed the connection without an answer")
        parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ProtocolError(f"malformed status line: {line[:80]!r}")
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers: dict[str, str] = {}
        while True:
            h = reader.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if status != 100:
            return Response(reader, status, reason, headers)
