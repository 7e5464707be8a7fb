"""Read-ahead between two threads: a plain blocking reader over chunks another thread
reads (the registry client's socket reads one step ahead of the layer unpacker).

Between a thread and the event loop, use :mod:`cove.util.bridge` instead: its loop side
never blocks."""

from __future__ import annotations

import io
import queue
import threading
from typing import Any


class QueueReader(io.RawIOBase):
    """``q.put(bytes)`` feeds data, ``q.put(None)`` ends it, ``q.put(exc)`` makes the reader
    raise ``exc`` (the producer failed).  The bounded queue is the back-pressure."""

    def __init__(self, maxsize: int = 64) -> None:
        self.q: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=maxsize)
        self._buf = memoryview(b"")
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
                self._buf = memoryview(item)
        # a view, not a slice: small reads from a big chunk must not copy its rest each time
        n = min(len(view), len(self._buf))
        view[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class ReadAhead(io.RawIOBase):
    """Reads ``src`` in a thread of its own, ``depth`` chunks ahead of the consumer.

    For a source whose reads cost CPU that runs without the GIL (a socket read plus a
    hash), so it overlaps with the consumer's own work (inflating, hashing, writing).
    The source's errors reach the consumer at the point it reached them; ``close`` stops
    the thread even when the consumer gave up half way."""

    def __init__(self, src: Any, chunk: int = 1 << 20, depth: int = 4) -> None:
        self._reader = QueueReader(depth)
        self._chunk = chunk
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, args=(src,), daemon=True)
        self._thread.start()

    def _offer(self, item: bytes | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._reader.q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _pump(self, src: Any) -> None:
        try:
            while not self._stop.is_set():
                data = src.read(self._chunk)
                if not self._offer(data or None) or not data:
                    return
        except BaseException as e:  # handed to the consumer, raised there
            self._offer(e)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        return self._reader.readinto(b)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        super().close()
