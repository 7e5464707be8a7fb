"""The Docker Engine API server: HTTP/1.1 over asyncio streams, on a unix socket or TCP.

One task per connection reads requests in a loop (keep-alive), dispatches them through the
router and writes one of the three reply shapes from ``cove.api.http``.  Streaming replies
flush their headers before the first chunk and stop when the client goes away; hijacked
replies own the socket until they return, then the connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import cove
from cove.api.errors import error_reply
from cove.api.http import (
    Body,
    Conn,
    HijackReply,
    ProtocolError,
    Reply,
    Request,
    Response,
    StreamReply,
    aclose_quietly,
    dump,
)
from cove.api.router import API_VERSION, Router, default_router, normalize, split_version
from cove.api.sockets import bind_unix, listen_backlog, parse_tcp_address, wait_peer_read
from cove.engine.facade import EngineFacade

if TYPE_CHECKING:
    import ssl

log = logging.getLogger("cove.api")

DRAIN_LIMIT = 256 << 10  # unread body bytes worth skipping to keep a connection
MAX_HEADERS = 256
WATCH_LIMIT = 1 << 20  # bytes a client may send while we stream to it
Header = tuple[str, str]


def http_date() -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _head(status_line: str, headers: list[Header]) -> bytes:
    lines = [status_line, *(f"{k}: {v}" for k, v in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1", "replace")


async def _read_head(conn: Conn) -> tuple[str, str, str, dict[str, str]] | None:
    line = await conn.readline()
    while line == b"":  # tolerate stray CRLFs between requests
        line = await conn.readline()
    if line is None:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise ProtocolError("malformed HTTP request")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        raw = await conn.readline()
        if raw is None:
            raise ProtocolError("unexpected EOF in header")
        if raw == b"":
            return parts[0].upper(), parts[1], parts[2], headers
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep or not name.strip():
            raise ProtocolError("malformed MIME header line")
        key, value = name.strip().lower(), value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    raise ProtocolError("too many header lines")


def _body(conn: Conn, headers: dict[str, str]) -> Body:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return Body(conn, None, chunked=True)
    length = headers.get("content-length")
    if length is None:
        return Body(conn, None, chunked=False)
    if not (length.isascii() and length.isdigit()):  # "³" passes isdigit() alone
        raise ProtocolError("bad Content-Length")
    return Body(conn, int(length), chunked=False)


def _keep_alive(http_version: str, headers: dict[str, str]) -> bool:
    tokens = {t.strip() for t in headers.get("connection", "").lower().split(",")}
    if http_version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


class ApiServer:
    def __init__(self, engine: EngineFacade, router: Router | None = None) -> None:
        self.engine = engine
        self.router = router or default_router()
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.Task[None]] = set()
        self._closing = False  # set by close(): connections are dropped, not flushed
        self._server_header: str | None = None

    # --- listening --------------------------------------------------------------------
    async def start_unix(self, path: str, mode: int = 0o660, gid: int = -1) -> asyncio.Server:
        """Listen on ``path`` with ``mode``; ``gid`` >= 0 also gives the socket that group."""
        sock = bind_unix(path, mode)
        if gid >= 0:
            try:
                os.chown(path, 0, gid)
            except OSError:
                sock.close()
                raise
        server = await asyncio.start_unix_server(self.handle, sock=sock, backlog=listen_backlog())
        self._servers.append(server)
        return server

    async def start_tcp(self, address: str, tls: ssl.SSLContext | None = None) -> asyncio.Server:
        """Listen on TCP ``host:port``; with ``tls`` every connection speaks TLS first."""
        host, port = parse_tcp_address(address)
        if tls is not None:
            from cove.api.tls import start_tls_server

            server = await start_tls_server(self.handle, host, port, tls, listen_backlog())
        else:
            server = await asyncio.start_server(self.handle, host, port, backlog=listen_backlog())
        self._servers.append(server)
        return server

    async def close(self) -> None:
        """Stop listening and drop every open connection (hijacked streams included)."""
        self._closing = True
        for server in self._servers:
            server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(list(self._connections))
        for server in self._servers:
            await server.wait_closed()

    # --- one connection ---------------------------------------------------------------
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._serve(Conn(reader, writer))
        except (ConnectionError, ProtocolError):
            pass  # the client left, or broke framing in a body nobody reads: just close
        except Exception:
            log.exception("API connection failed")
        finally:
            if task is not None:
                self._connections.discard(task)
            if self._closing:
                # shutting down: drop unsent data, so a peer that neither reads nor closes
                # cannot hold the daemon's exit (close() would wait to flush to it)
                writer.transport.abort()
            else:
                writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, conn: Conn) -> None:
        while True:
            try:
                head = await _read_head(conn)
                if head is None:
                    return
                method, target, http_version, headers = head
                body = _body(conn, headers)
            except ProtocolError as exc:
                await self._send(conn, Reply(400, dump({"message": str(exc)}), "application/json"))
                return
            keep_alive = _keep_alive(http_version, headers)
            if headers.get("expect", "").lower() == "100-continue":
                conn.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            reply, fatal = await self._dispatch(method, target, headers, body)
            keep_alive = keep_alive and not fatal
            if isinstance(reply, HijackReply):
                await self._hijack(conn, reply)
                return
            if isinstance(reply, StreamReply):
                if not await self._stream(conn, reply, keep_alive, body.done):
                    return
            else:
                await self._send(conn, reply, method == "HEAD", keep_alive)
            if not keep_alive or not await body.drain(DRAIN_LIMIT):
                return

    async def _dispatch(
        self, method: str, target: str, headers: dict[str, str], body: Body
    ) -> tuple[Response, bool]:
        raw_path, _, qs = target.partition("?")
        path = normalize(raw_path)
        try:
            version, path = split_version(path)
            handler, params = self.router.resolve(method, path)
            query = parse_qs(qs, keep_blank_values=True)
            request = Request(method, path, query, headers, body, version, params)
            return await handler(self.engine, request), False
        except ProtocolError as exc:
            return Reply(400, dump({"message": str(exc)}), "application/json"), True
        except Exception as exc:
            return error_reply(exc, method, path), False

    # --- writing replies --------------------------------------------------------------
    def common_headers(self) -> list[Header]:
        if self._server_header is None:
            try:
                version = str(self.engine.version().get("Version") or cove.__version__)
            except Exception:
                version = cove.__version__
            self._server_header = f"Docker/{version} (linux)"
        return [
            ("Api-Version", API_VERSION),
            ("Docker-Experimental", "false"),
            ("Ostype", "linux"),
            ("Server", self._server_header),
            ("Date", http_date()),
        ]

    async def _send(
        self, conn: Conn, reply: Reply, head_only: bool = False, keep_alive: bool = False
    ) -> None:
        headers = self.common_headers() + reply.headers
        if reply.content_type:
            headers.append(("Content-Type", reply.content_type))
        bodyless = reply.status in (204, 304) or reply.status < 200
        if not bodyless:
            headers.append(("Content-Length", str(len(reply.body))))
        if not keep_alive:
            headers.append(("Connection", "close"))
        status_line = f"HTTP/1.1 {reply.status} {_reason(reply.status)}"
        payload = b"" if head_only or bodyless else reply.body
        conn.writer.write(_head(status_line, headers) + payload)
        await conn.writer.drain()

    async def _stream(self, conn: Conn, reply: StreamReply, keep_alive: bool, watch: bool) -> bool:
        """Send a chunked reply; False when the connection cannot be reused."""
        headers = [*self.common_headers(), *reply.headers, ("Content-Type", reply.content_type)]
        headers.append(("Transfer-Encoding", "chunked"))
        if not keep_alive:
            headers.append(("Connection", "close"))
        status_line = f"HTTP/1.1 {reply.status} {_reason(reply.status)}"
        try:
            conn.writer.write(_head(status_line, headers))
            await conn.writer.drain()
        except BaseException:
            await aclose_quietly(reply.chunks)
            raise
        pump = asyncio.ensure_future(_pump_chunks(conn, reply))
        tasks: set[asyncio.Future[bool]] = {pump}
        watcher = asyncio.ensure_future(_watch_eof(conn)) if watch else None
        if watcher is not None:
            tasks.add(watcher)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not pump.done():  # client gone (or we are cancelled): stop the producer
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
            if watcher is not None and not watcher.done():
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
        return not pump.cancelled() and pump.result() and keep_alive

    async def _hijack(self, conn: Conn, reply: HijackReply) -> None:
        if reply.switch_to is not None:
            protocol, extra = reply.switch_to
            status_line = "HTTP/1.1 101 Switching Protocols"
            headers = [("Upgrade", protocol), ("Connection", "Upgrade"), *extra]
        elif reply.upgrade:
            status_line = "HTTP/1.1 101 UPGRADED"
            headers = [
                ("Content-Type", reply.content_type),
                ("Connection", "Upgrade"),
                ("Upgrade", "tcp"),
            ]
        else:
            status_line = "HTTP/1.1 200 OK"
            headers = [("Content-Type", reply.content_type)]
        try:
            conn.writer.write(_head(status_line, headers + self.common_headers()))
            await conn.writer.drain()
            await wait_peer_read(conn.writer)
        except BaseException:
            if reply.abort is not None:
                await reply.abort()
            raise
        await reply.run(conn)


async def _pump_chunks(conn: Conn, reply: StreamReply) -> bool:
    try:
        async for data in reply.chunks:
            if data:
                conn.writer.write(b"%x\r\n%b\r\n" % (len(data), data))
                await conn.writer.drain()
        conn.writer.write(b"0\r\n\r\n")
        await conn.writer.drain()
        return True
    except ConnectionError:
        return False
    except Exception:
        # Past the headers nothing can be reported; an unterminated body tells the client.
        log.exception("streaming reply failed")
        return False
    finally:
        await aclose_quietly(reply.chunks)


async def _watch_eof(conn: Conn) -> bool:
    """Returns once the client closed its side (it hung up on a streaming reply)."""
    try:
        while len(conn.buf) < WATCH_LIMIT and await conn.fill():
            pass
    except ConnectionError:
        return False
    if len(conn.buf) >= WATCH_LIMIT:
        await asyncio.Event().wait()
    return False


async def serve(engine: EngineFacade, socket_path: str) -> asyncio.Server:
    """Serve the API on a unix socket (mode 0660); what coved's main calls."""
    return await ApiServer(engine).start_unix(socket_path)


async def serve_tcp(engine: EngineFacade, address: str) -> asyncio.Server:
    """Serve the API on TCP ``host:port`` (plain HTTP; put TLS in front for remote use)."""
    return await ApiServer(engine).start_tcp(address)
