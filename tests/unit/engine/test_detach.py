"""Detach keys on an attached stdin."""

from __future__ import annotations

import asyncio

import pytest

from cove.engine.containers.detach import DetachSession, parse_keys
from cove.errors import InvalidArgument
from cove.util.streams import STDOUT, Chunk


class _Inner:
    tty = True

    def __init__(self) -> None:
        self.written = b""
        self.closed = False
        self.out: asyncio.Queue[Chunk | None] = asyncio.Queue()

    async def read(self) -> Chunk | None:
        return await self.out.get()

    async def write(self, data: bytes) -> None:
        self.written += data

    async def close_stdin(self) -> None:
        pass

    async def close(self) -> None:
        self.closed = True


def test_parse_keys() -> None:
    assert parse_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_keys("a,ctrl-[") == b"a\x1b"
    with pytest.raises(InvalidArgument, match="Invalid detach keys"):
        parse_keys("ctrl-pp")


def test_keys_detach_and_other_bytes_pass() -> None:
    async def go() -> None:
        inner = _Inner()
        s = DetachSession(inner, b"\x10\x11")
        await s.write(b"ab\x10c")  # a held ctrl-p followed by another byte goes through
        assert inner.written == b"ab\x10c"
        await inner.out.put(Chunk(STDOUT, b"x"))
        assert (await s.read()) == Chunk(STDOUT, b"x")
        reader = asyncio.ensure_future(s.read())
        await s.write(b"d\x10")
        await s.write(b"\x11rest")
        assert inner.written == b"ab\x10cd"
        assert await reader is None  # the session's output ends: the client is detached
        await s.close()
        assert inner.closed

    asyncio.run(go())
