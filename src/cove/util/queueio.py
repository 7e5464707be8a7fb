"""A blocking file object over chunks an event loop hands in, for a worker thread that
needs a plain reader (tarfile, the layer unpacker) while the request body still arrives."""

from __future__ import annotations

import io
import queue
from typing import Any


class QueueReader(io.RawIOBase):
    """``q.put(bytes)`` feeds data, ``q.put(None)`` ends it, ``q.put(exc)`` makes the reader
    raise ``exc`` (the producer failed).  The bounded queue is the back-pressure."""

    def __init__(self, maxsize: int = 64) -> None:
        self.q: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=maxsize)
        self._buf = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        while not self._buf and not self._eof:
            item = self.q.get()
            if item is None:
                self._eof = True
            elif isinstance(item, BaseException):
                raise item
            else:
                self._buf = item
        n = min(len(view), len(self._buf))
        view[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n
