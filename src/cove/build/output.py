"""A RUN container's output as the classic build stream's ``stream`` messages.

stdout goes out as it arrives.  stderr is shown as dockerd's builder shows it, in red
(``ESC[91m`` ... ``ESC[0m`` around each message).  A program may write one line in several
small writes (a shell's ``-x`` trace does) that arrive as separate chunks when the machine
is busy; red-wrapping each piece would split the line with colour codes, so stderr text is
held until a line end (``\\n`` or ``\\r``), until stdout has something to say, or for a
moment at most, then sent as one message.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import AsyncGenerator

from cove.util.jsontypes import Json
from cove.util.streams import STDERR, AttachSession, Chunk

_HOLD = 0.05  # seconds a partial stderr line waits for the rest of it


def red(text: str) -> Json:
    return {"stream": "\x1b[91m" + text + "\x1b[0m"}


async def run_output(session: AttachSession) -> AsyncGenerator[Json, None]:
    # a chunk may end inside a UTF-8 character: one decoder per stream
    out = codecs.getincrementaldecoder("utf-8")("replace")
    err = codecs.getincrementaldecoder("utf-8")("replace")
    held = ""
    pending: asyncio.Future[Chunk | None] | None = None
    try:
        while True:
            pending = asyncio.ensure_future(session.read())
            if held:
                done, _ = await asyncio.wait({pending}, timeout=_HOLD)
                if not done:
                    yield red(held)
                    held = ""
            chunk = await pending
            pending = None
            if chunk is None:
                break
            if chunk.stream == STDERR:
                held += err.decode(chunk.data)
                cut = max(held.rfind("\n"), held.rfind("\r")) + 1
                if cut:
                    yield red(held[:cut])
                    held = held[cut:]
                continue
            if held:
                yield red(held)
                held = ""
            if part := out.decode(chunk.data):
                yield {"stream": part}
        if tail := out.decode(b"", final=True):
            yield {"stream": tail}
        held += err.decode(b"", final=True)
        if held:
            yield red(held)
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
