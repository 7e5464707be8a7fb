"""Detach keys on an attached stdin (ctrl-p ctrl-q by default, ``detachKeys`` to change).

As dockerd's escape proxy: bytes that could begin the sequence are held back; a mismatch
sends them on; the whole sequence ends the attach session (its output reads as ended, so
the connection closes) and leaves the container running.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from cove.errors import InvalidArgument
from cove.util.streams import AttachSession, Chunk

DEFAULT_KEYS = "ctrl-p,ctrl-q"
_CTRL_SPECIAL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse_keys(text: str) -> bytes:
    out = bytearray()
    for key in text.split(","):
        k = key.strip().lower()
        if len(k) == 1:
            out.append(ord(k))
        elif k.startswith("ctrl-") and len(k) == 6:
            c = k[5]
            if "a" <= c <= "z":
                out.append(ord(c) - ord("a") + 1)
            elif c in _CTRL_SPECIAL:
                out.append(_CTRL_SPECIAL[c])
            else:
                raise InvalidArgument(f"Invalid detach keys ({text}) provided")
        else:
            raise InvalidArgument(f"Invalid detach keys ({text}) provided")
    return bytes(out)


class DetachSession:
    def __init__(self, inner: AttachSession, keys: bytes, on_detach: object = None) -> None:
        self.tty = inner.tty
        self._inner = inner
        self._keys = keys
        self._held = bytearray()
        self._detached = asyncio.Event()
        self._on_detach = on_detach
        self._read: asyncio.Future[Chunk | None] | None = None

    async def read(self) -> Chunk | None:
        if self._detached.is_set():
            return None
        if self._read is None:
            self._read = asyncio.ensure_future(self._inner.read())
        stop: asyncio.Future[object] = asyncio.ensure_future(self._detached.wait())
        pending: set[asyncio.Future[object]] = {self._read, stop}  # type: ignore[arg-type]
        try:
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if self._read.done():
            fut, self._read = self._read, None
            return fut.result()
        return None

    async def write(self, data: bytes) -> None:
        out = bytearray()
        for b in data:
            if b == self._keys[len(self._held)]:
                self._held.append(b)
                if len(self._held) == len(self._keys):
                    self._held.clear()
                    if out:
                        await self._inner.write(bytes(out))
                    self._detached.set()
                    if callable(self._on_detach):
                        self._on_detach()
                    return
                continue
            out += self._held
            self._held.clear()
            if b == self._keys[0]:
                self._held.append(b)
            else:
                out.append(b)
        if out:
            await self._inner.write(bytes(out))

    async def close_stdin(self) -> None:
        await self._inner.close_stdin()

    async def close(self) -> None:
        if self._read is not None:
            self._read.cancel()
            with contextlib.suppress(BaseException):
                await self._read
        await self._inner.close()


class ReplaySession:
    """``attach`` with ``logs``: the log so far, then (with ``stream``) the live output."""

    def __init__(
        self, history: AsyncIterator[Chunk], live: AttachSession | None, tty: bool
    ) -> None:
        self.tty = tty
        self._history: AsyncIterator[Chunk] | None = history
        self._live = live

    async def read(self) -> Chunk | None:
        if self._history is not None:
            try:
                return await self._history.__anext__()
            except StopAsyncIteration:
                self._history = None
        return None if self._live is None else await self._live.read()

    async def write(self, data: bytes) -> None:
        if self._live is not None:
            await self._live.write(data)

    async def close_stdin(self) -> None:
        if self._live is not None:
            await self._live.close_stdin()

    async def close(self) -> None:
        if self._live is not None:
            await self._live.close()
