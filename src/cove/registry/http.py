"""A small HTTP/1.1 server for the registry: keep-alive, streamed bodies, sendfile.

Only what a distribution registry needs: request bodies are streamed to the handler
(Content-Length or chunked), responses are bytes or a file range (sent with ``sendfile``
where the transport allows it).  Anything unread of a request body is drained before the
next request on the connection, or the connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

MAX_HEAD = 64 << 10
_CHUNK = 1 << 20
_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    206: "Partial Content",
    307: "Temporary Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    416: "Range Not Satisfiable",
    500: "Internal Server Error",
}


class BadRequest(Exception):
    pass


class Body:
    def __init__(self, reader: asyncio.StreamReader, length: int | None, chunked: bool) -> None:
        self._reader = reader
        self._left = length or 0
        self._chunked = chunked
        self.done = not chunked and not length

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._chunked:
            while not self.done:
                line = await self._reader.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await self._reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    self.done = True
                    return
                left = size
                while left:
                    data = await self._reader.read(min(left, _CHUNK))
                    if not data:
                        raise BadRequest("unexpected end of chunked body")
                    left -= len(data)
                    yield data
                await self._reader.readline()
            return
        while self._left > 0:
            data = await self._reader.read(min(self._left, _CHUNK))
            if not data:
                raise BadRequest("unexpected end of body")
            self._left -= len(data)
            yield data
        self.done = True

    async def read(self, limit: int = 16 << 20) -> bytes:
        out = bytearray()
        async for c in self.chunks():
            out += c
            if len(out) > limit:
                raise BadRequest("body too large")
        return bytes(out)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Body
    peer: str = ""

    def arg(self, name: str, default: str = "") -> str:
        v = self.query.get(name)
        return v[0] if v else default


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    file: BinaryIO | None = None  # sent from ``offset`` for ``length`` bytes, then closed
    offset: int = 0
    length: int = 0


def json_response(status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(obj).encode()
    return Response(status, {"Content-Type": "application/json", **(headers or {})}, body)


Handler = Callable[[Request], Awaitable[Response]]


class NotHTTP(Exception):
    """The peer speaks TLS to our plain-HTTP port."""


async def _head(reader: asyncio.StreamReader) -> bytes | None:
    try:
        first = await reader.readexactly(1)
    except asyncio.IncompleteReadError:
        return None
    if first == b"\x16":  # a TLS ClientHello: answer as Go does so the client fails fast
        raise NotHTTP()
    try:
        return first + await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None


def parse_head(raw: bytes) -> tuple[str, str, dict[str, list[str]], dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        raise BadRequest("malformed request line") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest("malformed header")
        headers[name.strip().lower()] = value.strip()
    parts = urlsplit(target)
    return method.upper(), unquote(parts.path), parse_qs(parts.query), headers


async def serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler
) -> None:
    peer = str(writer.get_extra_info("peername"))
    try:
        while True:
            raw = await _head(reader)
            if raw is None:
                return
            method, path, query, headers = parse_head(raw)
            chunked = "chunked" in headers.get("transfer-encoding", "").lower()
            length = int(headers.get("content-length") or 0) if not chunked else None
            body = Body(reader, length, chunked)
            if headers.get("expect", "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            resp = await handler(Request(method, path, query, headers, body, peer))
            if not body.done:
                if length is not None and length <= (1 << 20):
                    async for _ in body.chunks():
                        pass
                else:
                    resp.headers["Connection"] = "close"
            await send(writer, resp, head_only=method == "HEAD")
            if resp.headers.get("Connection") == "close" or headers.get("connection") == "close":
                return
    except (BadRequest, ValueError) as e:
        with contextlib.suppress(Exception):
            await send(
                writer,
                json_response(
                    400,
                    {"errors": [{"code": "UNSUPPORTED", "message": str(e)}]},
                    {"Connection": "close"},
                ),
            )
    except NotHTTP:
        writer.write(
            b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
        )
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
            await writer.wait_closed()


async def send(writer: asyncio.StreamWriter, resp: Response, head_only: bool = False) -> None:
    size = resp.length if resp.file is not None else len(resp.body)
    hdrs = {"Content-Length": str(size), "Docker-Distribution-API-Version": "registry/2.0"}
    hdrs.update(resp.headers)
    head = f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Status')}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    writer.write(head.encode("latin-1"))
    try:
        if head_only:
            return
        if resp.file is None:
            if resp.body:
                writer.write(resp.body)
            return
        await writer.drain()
        loop = asyncio.get_running_loop()
        transport = writer.transport
        if transport.get_extra_info("sslcontext") is None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                await loop.sendfile(transport, resp.file, resp.offset, resp.length)
                return
        resp.file.seek(resp.offset)
        left = resp.length
        while left > 0:
            data = resp.file.read(min(left, _CHUNK))
            if not data:
                break
            writer.write(data)
            left -= len(data)
            await writer.drain()
    finally:
        if resp.file is not None:
            resp.file.close()
        await writer.drain()


def file_size(f: BinaryIO) -> int:
    return os.fstat(f.fileno()).st_size
