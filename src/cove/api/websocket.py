"""``GET /containers/{id}/attach/ws``: a container's stdio over a WebSocket (RFC 6455).

Output goes out as binary frames holding the raw bytes (no stream headers, as dockerd sends
them on this endpoint); text or binary frames from the client are stdin, its close frame
ends stdin and the connection, pings are answered.  Client frames must be masked; a frame
that breaks the protocol closes the connection with status 1002.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging

from cove.api.hijack import pump_with
from cove.api.http import Conn, HijackReply, Request
from cove.errors import InvalidArgument
from cove.util.streams import AttachSession

log = logging.getLogger("cove.api")

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455's fixed handshake suffix
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_FRAME = 16 << 20  # stdin frames larger than this are a protocol error


class ProtocolViolation(Exception):
    pass


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final frame (servers never mask)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, n))
    elif n < 1 << 16:
        head = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return head + payload


async def read_frame(conn: Conn) -> tuple[int, bytes]:
    """(opcode, unmasked payload) of the client's next frame."""
    b0, b1 = await _exact(conn, 2)
    if b0 & 0x70:
        raise ProtocolViolation("reserved bits set")
    if not b1 & 0x80:
        raise ProtocolViolation("client frames must be masked")
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(await _exact(conn, 2), "big")
    elif n == 127:
        n = int.from_bytes(await _exact(conn, 8), "big")
    if n > MAX_FRAME:
        raise ProtocolViolation("frame too large")
    mask = await _exact(conn, 4)
    data = await _exact(conn, n)
    # unmask as one big integer: a Python loop per byte would cost ~50 ns a byte
    key = (mask * (n // 4 + 1))[:n]
    plain = int.from_bytes(data, "big") ^ int.from_bytes(key, "big")
    return b0 & 0x0F, plain.to_bytes(n, "big")


async def _exact(conn: Conn, n: int) -> bytes:
    while len(conn.buf) < n:
        if not await conn.fill():
            raise ConnectionResetError("the client closed the connection")
    out = bytes(conn.buf[:n])
    del conn.buf[:n]
    return out


def _send(conn: Conn, opcode: int, payload: bytes) -> None:
    conn.writer.write(encode_frame(opcode, payload))


async def _copy_input(conn: Conn, session: AttachSession) -> None:
    """Client frames to stdin until its close frame (or a broken frame) ends it."""
    try:
        while True:
            opcode, payload = await read_frame(conn)
            if opcode in (TEXT, BINARY, CONT):
                await session.write(payload)
            elif opcode == PING:
                _send(conn, PONG, payload)
                await conn.writer.drain()
            elif opcode == CLOSE:
                _send(conn, CLOSE, payload[:2])
                await conn.writer.drain()
                break
    except ProtocolViolation as e:
        log.debug("websocket attach: %s", e)
        with contextlib.suppress(ConnectionError):
            _send(conn, CLOSE, (1002).to_bytes(2, "big"))
            await conn.writer.drain()
    except ConnectionError:
        pass
    with contextlib.suppress(Exception):
        await session.close_stdin()


async def _copy_output(conn: Conn, session: AttachSession) -> None:
    try:
        while (chunk := await session.read()) is not None:
            if chunk.data:
                _send(conn, BINARY, chunk.data)
                await conn.writer.drain()
        _send(conn, CLOSE, (1000).to_bytes(2, "big"))  # the container's output ended
        await conn.writer.drain()
    except ConnectionError:
        pass


def check_handshake(request: Request) -> str:
    """The client's Sec-WebSocket-Key; a request that is no WebSocket handshake is refused
    before anything is attached."""
    key = request.headers.get("sec-websocket-key", "")
    if "websocket" not in request.headers.get("upgrade", "").lower() or not key:
        raise InvalidArgument("a WebSocket handshake (Upgrade: websocket) is required")
    return key


def websocket_reply(request: Request, session: AttachSession) -> HijackReply:
    key = check_handshake(request)

    async def run(conn: Conn) -> None:
        await pump_with(conn, session, _copy_output, _copy_input)

    return HijackReply(
        content_type="",
        upgrade=True,
        run=run,
        abort=session.close,
        switch_to=("websocket", [("Sec-WebSocket-Accept", accept_key(key))]),
    )
