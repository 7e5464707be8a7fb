"""Log chunks on the wire: one multiplexed frame per line, as dockerd sends one per message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from cove.api.hijack import log_frames, log_lines_framed
from cove.util.streams import STDERR, STDOUT, Chunk

from .rawhttp import frames


def test_a_chunk_of_lines_is_one_frame_per_line() -> None:
    body = log_lines_framed(Chunk(STDOUT, b"hello\nworld\n"))
    assert frames(body) == [(1, b"hello\n"), (1, b"world\n")]


def test_a_line_without_its_newline_yet_is_a_frame_of_its_own() -> None:
    body = log_lines_framed(Chunk(STDERR, b"one\npart"))
    assert frames(body) == [(2, b"one\n"), (2, b"part")]
    assert frames(log_lines_framed(Chunk(STDOUT, b"\n"))) == [(1, b"\n")]


def test_log_frames_big_and_small_chunks_and_tty() -> None:
    big = b"".join(b"%06d\n" % i for i in range(20000))  # > 64 KiB: framed off the loop

    async def chunks() -> AsyncIterator[Chunk]:
        yield Chunk(STDOUT, big)
        yield Chunk(STDERR, b"small\n")

    async def collect(tty: bool) -> bytes:
        return b"".join([b async for b in log_frames(chunks(), tty)])

    got = frames(asyncio.run(collect(False)))
    assert len(got) == 20001 and got[0] == (1, b"000000\n") and got[-1] == (2, b"small\n")
    assert asyncio.run(collect(True)) == big + b"small\n"
