"""WebSocket framing of the attach/ws endpoint: lengths, masking, protocol violations."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from cove.api.http import Conn
from cove.api.websocket import (
    BINARY,
    PING,
    ProtocolViolation,
    accept_key,
    encode_frame,
    read_frame,
)


def _client_frame(opcode: int, payload: bytes, masked: bool = True) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, (0x80 if masked else 0) | n))
    elif n < 1 << 16:
        head = bytes((0x80 | opcode, (0x80 if masked else 0) | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, (0x80 if masked else 0) | 127)) + n.to_bytes(8, "big")
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _read(data: bytes) -> Any:
    async def run() -> Any:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        return await read_frame(Conn(reader, None))  # type: ignore[arg-type]

    return asyncio.run(run())


def test_rfc_handshake_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200000])
def test_frames_of_every_length_class(size: int) -> None:
    payload = os.urandom(size)
    assert _read(_client_frame(BINARY, payload)) == (BINARY, payload)
    out = encode_frame(BINARY, payload)
    assert out[0] == 0x82 and not out[1] & 0x80  # final, binary, server frames unmasked
    assert out.endswith(payload)


def test_ping_and_violations() -> None:
    assert _read(_client_frame(PING, b"hi")) == (PING, b"hi")
    with pytest.raises(ProtocolViolation, match="masked"):
        _read(_client_frame(BINARY, b"x", masked=False))
    with pytest.raises(ConnectionResetError):
        _read(_client_frame(BINARY, b"abcdef")[:5])
