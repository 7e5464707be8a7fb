"""Attach/exec stdio over a hijacked connection, and Docker's stream framing.

Without a TTY every output chunk is framed as ``[stream, 0, 0, 0, len32be] + data`` (the
"multiplexed" stream of stdcopy); with a TTY the bytes go out raw.  Client bytes are stdin;
the client's half-close is stdin's EOF.  The connection ends when the session's output ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

from cove.api.http import Conn, HijackReply, Request, aclose_quietly
from cove.api.sockets import wait_hangup
from cove.util.streams import STDOUT, AttachSession, Chunk

log = logging.getLogger("cove.api")

RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"


def frame(stream: int, data: bytes) -> bytes:
    return bytes((stream, 0, 0, 0)) + len(data).to_bytes(4, "big") + data


def encode(chunk: Chunk, tty: bool) -> bytes:
    return chunk.data if tty else frame(chunk.stream, chunk.data)


def stream_content_type(request: Request, tty: bool) -> str:
    """dockerd names the multiplexed type only from API 1.42 on; the framing is the same."""
    if tty or not request.version_at_least(1, 42):
        return RAW_STREAM
    return MULTIPLEXED_STREAM


async def _copy_input(conn: Conn, session: AttachSession) -> None:
    """Client bytes to stdin; returns only when the client is gone."""
    try:
        if conn.buf:  # bytes that came right behind the request head
            data = bytes(conn.buf)
            conn.buf.clear()
            await session.write(data)
        while data := await conn.reader.read(65536):
            await session.write(data)
        await session.close_stdin()
    except ConnectionError:
        return
    except Exception:
        log.debug("attach input ended with an error", exc_info=True)
    await wait_hangup(conn.writer)


async def _copy_output(conn: Conn, session: AttachSession) -> None:
    try:
        while (chunk := await session.read()) is not None:
            if chunk.data:
                conn.writer.write(encode(chunk, session.tty))
                await conn.writer.drain()
    except ConnectionError:
        pass
    except Exception:
        log.exception("attach output failed")


async def pump(conn: Conn, session: AttachSession) -> None:
    """Copy both ways until the session's output ends or the client hangs up."""
    await pump_with(conn, session, _copy_output, _copy_input)


Copier = Callable[[Conn, AttachSession], Awaitable[None]]


async def pump_with(conn: Conn, session: AttachSession, output: Copier, input: Copier) -> None:
    """Run both copiers until either ends, then stop the other and close the session."""
    tasks = [
        asyncio.ensure_future(output(conn, session)),
        asyncio.ensure_future(input(conn, session)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await session.close()


def hijack_reply(request: Request, session: AttachSession) -> HijackReply:
    async def run(conn: Conn) -> None:
        await pump(conn, session)

    return HijackReply(
        content_type=stream_content_type(request, session.tty),
        upgrade="upgrade" in request.headers,
        run=run,
        abort=session.close,
    )


# a newline (the previous line's) and a frame header in one pack
_NL_HEADER = struct.Struct(">cBxxxL").pack
_BIG_CHUNK = 1 << 16  # framed in a worker thread: a 1 MiB chunk costs ~3 ms of CPU


def log_lines_framed(chunk: Chunk) -> bytes:
    """One frame per line, as dockerd sends one per log message: the docker SDK's
    ``logs(stream=True)`` yields a frame at a time, and its users (and tests) take each
    item for one line.  The log reader hands over several lines in one chunk.  Built as
    header, line, newline+header, line, ... in one join (no per-line concatenation)."""
    lines = chunk.data.split(b"\n")
    last = lines.pop()  # after the final newline: empty, or a line still being written
    tail = frame(chunk.stream, last) if last else b""
    if not lines:
        return tail
    heads = [_NL_HEADER(b"\n", chunk.stream, len(ln) + 1) for ln in lines]
    heads[0] = heads[0][1:]
    parts = [b""] * (2 * len(lines))
    parts[::2] = heads
    parts[1::2] = lines
    parts.append(b"\n")
    parts.append(tail)
    return b"".join(parts)


async def log_frames(chunks: AsyncIterator[Chunk], tty: bool) -> AsyncIterator[bytes]:
    """Log chunks as stream bytes; a failure mid-stream is reported in band, as dockerd does."""
    try:
        async for chunk in chunks:
            if tty:
                yield chunk.data
            elif len(chunk.data) > _BIG_CHUNK:
                yield await asyncio.to_thread(log_lines_framed, chunk)
            elif chunk.data:
                yield log_lines_framed(chunk)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.debug("log stream failed", exc_info=True)
        yield encode(Chunk(STDOUT, f"Error grabbing logs: {exc}\n".encode()), tty)
    finally:
        await aclose_quietly(chunks)
