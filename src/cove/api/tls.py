"""TLS for the API's TCP listeners, with TCP's half-close kept.

asyncio's own TLS transport ends the whole connection as soon as the peer half-closes.  The
docker CLI half-closes its hijacked attach/exec connections (a TCP FIN under the TLS layer,
with no close_notify) the moment it has no more stdin, and dockerd goes on writing the
container's output: with asyncio's transport ``docker run --rm busybox echo hi`` would print
nothing.  So TLS runs here over memory BIOs: ``_TLSProtocol`` faces the TCP transport and
feeds an ordinary ``StreamReaderProtocol`` through ``_TLSTransport``, which reads the peer's
EOF as the end of its input only and keeps the write side open until the server closes.

Every ``write`` becomes its own TLS record(s): a client that reads a 101 head through a
buffered reader and then switches to the raw socket (docker-py) never finds stream bytes in
the record that carried the head.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cove.errors import InvalidArgument

log = logging.getLogger("cove.api")

HANDSHAKE_TIMEOUT = 30.0  # seconds a TCP peer may take to finish the handshake
READ_SIZE = 65536
PLAIN_HTTP_ANSWER = (
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
)
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass(frozen=True)
class TLSFiles:
    """The daemon's TLS material; ``verify``: client certificates signed by ``ca`` required."""

    cert: str
    key: str
    ca: str
    verify: bool


def server_context(files: TLSFiles) -> ssl.SSLContext:
    """A server context as dockerd builds one: TLS 1.2 or newer, and with ``verify`` a
    client certificate is required and checked against ``ca`` alone (not the system's CAs)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    try:
        ctx.load_cert_chain(files.cert, files.key)
    except (OSError, ssl.SSLError) as e:
        raise InvalidArgument(
            f"Could not load X509 key pair (cert: {files.cert!r}, key: {files.key!r}): {_why(e)}"
        ) from None
    if files.verify:
        try:
            ctx.load_verify_locations(cafile=files.ca)
        except (OSError, ssl.SSLError) as e:
            why = _why(e)
            raise InvalidArgument(f"Could not read CA certificate {files.ca!r}: {why}") from None
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _why(e: Exception) -> str:
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e)


async def start_tls_server(
    handler: Handler, host: str, port: int, ctx: ssl.SSLContext, backlog: int = 100
) -> asyncio.Server:
    """``asyncio.start_server`` with TLS, where the peer's half-close ends only its input."""
    loop = asyncio.get_running_loop()

    def factory() -> _TLSProtocol:
        reader = asyncio.StreamReader(loop=loop)
        app = asyncio.StreamReaderProtocol(reader, handler, loop=loop)
        return _TLSProtocol(ctx, app, loop)

    return await loop.create_server(factory, host, port, backlog=backlog)


class _TLSProtocol(asyncio.Protocol):
    """Ciphertext side: the TCP transport talks to this, which talks to the app protocol."""

    def __init__(
        self, ctx: ssl.SSLContext, app: asyncio.Protocol, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = ctx.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._app = app
        self._loop = loop
        self.raw: asyncio.Transport | None = None
        self._wrapped = False  # handshake done, the app protocol is connected
        self._input_ended = False
        self._timer: asyncio.TimerHandle | None = None

    # --- the TCP transport's calls -----------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.raw = transport
        self._timer = self._loop.call_later(HANDSHAKE_TIMEOUT, self._handshake_timeout)

    def data_received(self, data: bytes) -> None:
        self._incoming.write(data)
        if self._wrapped or self._handshake():
            self._read_plaintext()

    def eof_received(self) -> bool:
        if not self._wrapped:
            return False  # gone during the handshake: just close
        self._incoming.write_eof()
        self._read_plaintext()
        self._end_input()
        return True  # keep our write side: the server may still be sending

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._wrapped:
            self._app.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._wrapped:
            self._app.pause_writing()

    def resume_writing(self) -> None:
        if self._wrapped:
            self._app.resume_writing()

    # --- TLS ---------------------------------------------------------------------------
    def _handshake(self) -> bool:
        assert self.raw is not None
        try:
            self._ssl.do_handshake()
        except ssl.SSLWantReadError:
            self.flush()
            return False
        except (ssl.SSLError, OSError) as e:
            self.flush()  # the alert tells the client why
            if getattr(e, "reason", None) == "HTTP_REQUEST":
                self.raw.write(PLAIN_HTTP_ANSWER)  # as Go's server answers one
            peer = self.raw.get_extra_info("peername")
            log.info("TLS handshake error from %s: %s", _peer(peer), getattr(e, "reason", e))
            self.raw.close()
            return False
        self.flush()
        self._wrapped = True
        if self._timer is not None:
            self._timer.cancel()
        self._app.connection_made(_TLSTransport(self))
        return True

    def _handshake_timeout(self) -> None:
        if not self._wrapped and self.raw is not None:
            self.raw.abort()

    def _read_plaintext(self) -> None:
        assert self.raw is not None
        while not self._input_ended:
            try:
                data = self._ssl.read(READ_SIZE)
            except ssl.SSLWantReadError:
                break
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                # close_notify, or a bare FIN under TLS: either way the client is done writing
                self._end_input()
                break
            except ssl.SSLError as e:
                log.debug("TLS error: %s", e)
                self.raw.abort()
                return
            if not data:
                self._end_input()
                break
            self._app.data_received(data)
        self.flush()  # TLS 1.3 may answer post-handshake messages

    def _end_input(self) -> None:
        if self._input_ended:
            return
        self._input_ended = True
        if not self._app.eof_received() and self.raw is not None:
            self.raw.close()

    def flush(self) -> None:
        data = self._outgoing.read()
        if data and self.raw is not None and not self.raw.is_closing():
            self.raw.write(data)

    def write(self, data: bytes) -> None:
        self._ssl.write(data)
        self.flush()

    def close_notify(self) -> None:
        """Tell the peer we are done (a clean TLS EOF rather than a truncated stream)."""
        try:
            self._ssl.unwrap()
        except ssl.SSLError:
            pass  # SSLWantReadError: sent ours, the peer's need not come
        self.flush()


class _TLSTransport(asyncio.Transport):
    """Plaintext side, handed to the app protocol.

    ``sslcontext`` is reported as None on purpose: ``StreamReaderProtocol`` closes a TLS
    connection at the peer's EOF, which is the behaviour this module exists to avoid.
    """

    def __init__(self, proto: _TLSProtocol) -> None:
        super().__init__()
        self._proto = proto
        assert proto.raw is not None
        self._raw: asyncio.Transport = proto.raw
        self._closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "sslcontext":
            return None
        if name == "ssl_object":
            return self._proto._ssl
        if name == "peercert":
            return self._proto._ssl.getpeercert()
        return self._raw.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self._closing or self._raw.is_closing()

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if not self._raw.is_closing():
            self._proto.close_notify()
        self._raw.close()

    def abort(self) -> None:
        self._closing = True
        self._raw.abort()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing:
            return
        if data:
            self._proto.write(bytes(data))

    def can_write_eof(self) -> bool:
        return False  # a TLS stream has no half-close of its own

    def pause_reading(self) -> None:
        self._raw.pause_reading()

    def resume_reading(self) -> None:
        self._raw.resume_reading()

    def is_reading(self) -> bool:
        return self._raw.is_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._raw.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self._raw.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._raw.get_write_buffer_limits()


def _peer(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)
