"""HTTP/1.1 message shapes shared by the server loop and the routes.

A route receives a :class:`Request` (query helpers with Docker's parsing rules, a lazily read
body) and returns one of three replies: :class:`Reply` (a complete body sent with
Content-Length), :class:`StreamReply` (headers flushed at once, then a chunked body) or
:class:`HijackReply` (the route takes over the raw connection after the status line).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cove.api.validate_types import Struct, check_body, decode
from cove.errors import InvalidArgument

if TYPE_CHECKING:
    from cove.engine.facade import EngineFacade

READ_SIZE = 65536
MAX_LINE = 65536
MAX_JSON_BODY = 16 << 20


class ProtocolError(Exception):
    """The client broke HTTP framing; the server answers 400 and closes the connection."""


class Conn:
    """One client connection's byte stream with a pushback buffer.

    Everything reads through ``buf`` so bytes that arrived early (a pipelined request, the
    first stdin bytes of a hijacked stream) are never lost between readers.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buf = bytearray()

    async def fill(self) -> bool:
        """Append what the socket has to ``buf``; False at EOF."""
        data = await self.reader.read(READ_SIZE)
        if not data:
            return False
        self.buf += data
        return True

    async def readline(self) -> bytes | None:
        """One CRLF/LF-terminated line without its terminator; None at EOF before any byte."""
        while True:
            end = self.buf.find(b"\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[: end + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buf) > MAX_LINE:
                raise ProtocolError("header line too long")
            if not await self.fill():
                if self.buf:
                    raise ProtocolError("unexpected EOF in header")
                return None

    async def read_some(self, limit: int = READ_SIZE) -> bytes:
        """Up to ``limit`` bytes; b"" at EOF."""
        if not self.buf and not await self.fill():
            return b""
        data = bytes(self.buf[:limit])
        del self.buf[:limit]
        return data


class Body:
    """A request body framed by Content-Length or chunked transfer coding."""

    def __init__(self, conn: Conn, length: int | None, chunked: bool) -> None:
        self._conn = conn
        self._left = 0 if length is None else length
        self._chunked = chunked
        self.done = not chunked and self._left == 0

    async def chunks(self) -> AsyncIterator[bytes]:
        while not self.done:
            if self._chunked and self._left == 0:
                line = await self._conn.readline()
                if line is None:
                    raise ProtocolError("unexpected EOF in chunked body")
                try:
                    self._left = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise ProtocolError("invalid chunk size") from None
                if self._left < 0:
                    raise ProtocolError("invalid chunk size")
                if self._left == 0:
                    while await self._conn.readline():  # trailers up to the blank line
                        pass
                    self.done = True
                    return
            data = await self._conn.read_some(min(self._left, READ_SIZE))
            if not data:
                raise ProtocolError("unexpected EOF in request body")
            self._left -= len(data)
            if self._left == 0:
                if self._chunked:
                    if await self._conn.readline() != b"":
                        raise ProtocolError("missing CRLF after chunk")
                else:
                    self.done = True
            yield data

    async def read(self, limit: int = MAX_JSON_BODY) -> bytes:
        out = bytearray()
        async for data in self.chunks():
            out += data
            if len(out) > limit:
                raise InvalidArgument("request body too large")
        return bytes(out)

    async def drain(self, limit: int) -> bool:
        """Skip what the route left unread; False when more than ``limit`` bytes remain."""
        seen = 0
        async for data in self.chunks():
            seen += len(data)
            if seen > limit:
                return False
        return True


def _truthy(value: str) -> bool:
    # dockerd's httputils.BoolValue: everything but these spellings is true.
    return value.strip().lower() not in ("", "0", "no", "false", "none")


@dataclass
class Request:
    method: str
    path: str  # decoded, version prefix and trailing slash removed
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: Body
    api_version: tuple[int, ...]
    params: dict[str, str] = field(default_factory=dict)
    # the route's body structure (cove.api.validate): checked when the body is decoded
    body_type: Struct | None = None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.arg(name)
        if value is None or value == "":
            return default
        return _truthy(value)

    def integer(self, name: str, default: int) -> int:
        value = self.arg(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise InvalidArgument(f'invalid value for {name}: "{value}"') from None

    def optional_int(self, name: str) -> int | None:
        return None if self.arg(name) in (None, "") else self.integer(name, 0)

    def timestamp(self, name: str) -> float | None:
        """A unix time as clients send it ("1700000000" or "1700000000.123456789")."""
        value = self.arg(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except ValueError:
            raise InvalidArgument(f"invalid value for {name}: {value!r}") from None

    def filters(self, name: str = "filters") -> dict[str, list[str]]:
        """Docker's JSON filters: {"k": ["v"]} or the legacy {"k": {"v": true}}."""
        raw = self.arg(name)
        if not raw:
            return {}
        try:
            data = decode(raw.encode())  # Go's rules: no NaN, bounded nesting
        except InvalidArgument as exc:
            text = str(exc).removeprefix("invalid JSON: ")
            raise InvalidArgument(f"invalid filter: {text}") from None
        if not isinstance(data, dict):
            raise InvalidArgument("invalid filter: expected a JSON object")
        out: dict[str, list[str]] = {}
        for key, value in data.items():
            if isinstance(value, dict):
                out[str(key)] = [str(k) for k, on in value.items() if on]
            elif isinstance(value, list):
                out[str(key)] = [str(v) for v in value]
            else:
                out[str(key)] = [str(value)]
        return out

    def version_at_least(self, *version: int) -> bool:
        return self.api_version >= version

    async def json(self) -> Any:
        """The decoded JSON body, or None for an empty body; checked against the route's
        body structure before the handler sees it."""
        data = await self.body.read()
        if not data.strip():
            return None
        value = decode(data)
        if self.body_type is not None:
            check_body(self.body_type, value)
        return value

    async def json_object(self) -> dict[str, Any]:
        data = await self.json()
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise InvalidArgument("invalid JSON: expected an object")
        return data


def dump(obj: Any) -> bytes:
    """Go's json.Encoder output: compact, UTF-8, newline-terminated."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_reply(obj: Any, status: int = 200) -> Reply:
    return Reply(status, dump(obj), "application/json")


def no_content() -> Reply:
    return Reply(204)


@dataclass
class StreamReply:
    """Headers go out (and are flushed) before ``chunks`` is first awaited."""

    chunks: AsyncIterator[bytes]
    content_type: str = "application/json"
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class HijackReply:
    """``run`` owns the connection after the 101/200 head; the server closes it afterwards."""

    content_type: str
    upgrade: bool
    run: Callable[[Conn], Awaitable[None]]
    abort: Callable[[], Awaitable[None]] | None = None  # if the head cannot be sent
    # another protocol's 101 (a WebSocket handshake): (Upgrade value, extra headers)
    switch_to: tuple[str, list[tuple[str, str]]] | None = None


Response = Reply | StreamReply | HijackReply
Handler = Callable[["EngineFacade", Request], Awaitable[Response]]


async def aclose_quietly(source: object) -> None:
    """Close an async generator the client stopped reading; its own failure is moot."""
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


def json_lines(
    source: AsyncIterator[Any],
    first: list[Any] | None = None,
    on_error: Callable[[Exception], Any] | None = None,
) -> StreamReply:
    """A JSON-lines stream (events, stats, progress): ``first`` messages already taken from
    ``source``, then the rest; a failure mid-stream becomes ``on_error(exc)``'s message when
    given (the headers are out, so no status can tell it)."""

    async def lines() -> AsyncIterator[bytes]:
        for message in first or ():
            yield dump(message)
        try:
            async for message in source:
                yield dump(message)
        except Exception as exc:
            if on_error is None:
                raise
            yield dump(on_error(exc))
        finally:
            await aclose_quietly(source)

    return StreamReply(lines())
