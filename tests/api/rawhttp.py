"""A deliberately dumb HTTP/1.1 client over a blocking socket, to check the exact wire format."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RawHttp:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise EOFError("connection closed")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError("connection closed")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_head(self) -> tuple[int, str, dict[str, str]]:
        status_line = self._line().decode()
        version, status, reason = status_line.split(" ", 2)
        assert version == "HTTP/1.1"
        headers: dict[str, str] = {}
        while line := self._line():
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status), reason, headers

    def read_chunk(self) -> bytes | None:
        """One chunk of a chunked body; None after the last."""
        size = int(self._line(), 16)
        if size == 0:
            assert self._line() == b""
            return None
        data = self._exact(size)
        assert self._exact(2) == b"\r\n"
        return data

    def read_until_close(self) -> bytes:
        while self._fill():
            pass
        data, self.buf = self.buf, b""
        return data

    def read_exact(self, n: int) -> bytes:
        return self._exact(n)

    def read_response(self, method: str = "GET") -> RawResponse:
        status, reason, headers = self.read_head()
        if method == "HEAD" or status in (204, 304) or status < 200:
            body = b""
        elif "content-length" in headers:
            body = self._exact(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            parts = []
            while (chunk := self.read_chunk()) is not None:
                parts.append(chunk)
            body = b"".join(parts)
        else:
            body = self.read_until_close()
        return RawResponse(status, reason, headers, body)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> RawResponse:
        self.send_request(method, path, body, headers)
        return self.read_response(method)

    def send_request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        lines = [f"{method} {path} HTTP/1.1", "Host: docker"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body is not None and not any(k.lower() == "transfer-encoding" for k in headers or {}):
            lines.append(f"Content-Length: {len(body)}")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))


def chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def frames(data: bytes) -> list[tuple[int, bytes]]:
    """Split a multiplexed stream into (stream, payload) frames."""
    out = []
    while data:
        assert data[1:4] == b"\0\0\0", data
        size = int.from_bytes(data[4:8], "big")
        out.append((data[0], data[8 : 8 + size]))
        data = data[8 + size :]
    return out
