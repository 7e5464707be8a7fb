"""The one bridge between worker threads and the event loop.

Blocking work (tar, hashing, unpacking, registry transfers) runs in a thread; its bytes or
messages cross to the loop through a bounded channel, and request bodies cross the other
way.  The rules that keep coved serving whatever happens on either side:

- the loop thread never blocks: its side only takes a lock that the other side holds for a
  few instructions, and waits on an ``asyncio.Event`` the thread sets through
  ``call_soon_threadsafe``;
- the channel is bounded: a slow client slows the worker (and a slow worker the upload)
  instead of filling memory;
- when one side stops, the other learns it at its next step: a worker that died makes the
  feeder's ``put`` raise (its error is the request's answer), and a client that left makes
  the worker's next ``put`` or read raise ``BrokenPipeError``, so the thread ends instead of
  waiting for a reader that will never come.

``stream_thread`` runs a producer (save, export, pull, push, ``cp`` out) and yields what it
puts; ``feed_thread`` runs a consumer of a request body (load, import, build, ``cp`` in);
``ToLoop`` alone carries a long-lived thread's items (the cluster store's watch);
``WorkerPool`` runs short blocking calls on a few threads of their own (netlink work one at
a time, cluster store requests), so they never wait behind the default executor's users.
Workers are plain daemon threads named ``cove-xfer`` (also in ``/proc``), not the default
executor, whose handful of threads a few long transfers would otherwise use up.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import ctypes.util
import io
import threading
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, BinaryIO, Generic, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")

THREAD_NAME = "cove-xfer"
_PR_SET_NAME = 15


class _Wake:
    """An ``asyncio.Event`` a thread may set; harmless once the loop is gone."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.event = asyncio.Event()

    def set_from_thread(self) -> None:
        try:
            self._loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:  # the loop closed: nobody is waiting any more
            pass


class ToLoop(Generic[T]):
    """Items from worker threads to the loop, at most ``maxsize`` in flight."""

    def __init__(self, maxsize: int = 8) -> None:
        self._wake = _Wake(asyncio.get_running_loop())
        self._cond = threading.Condition()
        self._items: deque[T] = deque()
        self._max = maxsize
        self._cancelled = False
        self._done = False
        self._error: BaseException | None = None

    # --- thread side ---------------------------------------------------------------------
    def put(self, item: T) -> None:
        """Blocks (the worker, never the loop) while the channel is full; raises
        ``BrokenPipeError`` once the loop side went away."""
        with self._cond:
            while len(self._items) >= self._max and not self._cancelled:
                self._cond.wait()
            if self._cancelled:
                raise BrokenPipeError("the client went away")
            self._items.append(item)
        self._wake.set_from_thread()

    def finish(self, error: BaseException | None = None) -> None:
        """The end of the items, or the worker's failure; never blocks."""
        with self._cond:
            if not self._done:
                self._done, self._error = True, error
        self._wake.set_from_thread()

    # --- loop side -----------------------------------------------------------------------
    async def get(self) -> tuple[bool, T | None]:
        """(True, item), or (False, None) at the end; the worker's error is raised here."""
        while True:
            with self._cond:
                if self._items:
                    item = self._items.popleft()
                    self._cond.notify_all()
                    return True, item
                if self._done:
                    if self._error is not None:
                        raise self._error
                    return False, None
                self._wake.event.clear()
            await self._wake.event.wait()

    def cancel(self) -> None:
        """The loop side stops reading: the worker's next ``put`` raises."""
        with self._cond:
            self._cancelled = True
            self._items.clear()
            self._cond.notify_all()


class FromLoop(io.RawIOBase):
    """A blocking reader for a worker thread over chunks the loop puts in."""

    def __init__(self, maxsize: int = 8) -> None:
        self._wake = _Wake(asyncio.get_running_loop())
        self._cond = threading.Condition()
        self._items: deque[bytes] = deque()
        self._max = maxsize
        self._eof = False
        self._error: BaseException | None = None
        self._stopped = False  # the reader closed: puts fail from now on
        self._buf = memoryview(b"")

    # --- loop side -----------------------------------------------------------------------
    async def put(self, data: bytes) -> None:
        """Waits (without blocking the loop) while the channel is full; raises
        ``BrokenPipeError`` once the worker stopped reading (it ended or failed)."""
        while True:
            with self._cond:
                if self._stopped:
                    raise BrokenPipeError("the reader stopped")
                if len(self._items) < self._max:
                    self._items.append(data)
                    self._cond.notify_all()
                    return
                self._wake.event.clear()
            await self._wake.event.wait()

    def finish(self, error: BaseException | None = None) -> None:
        """End of data (or the producer's failure, raised in the reader); never blocks."""
        with self._cond:
            if not self._eof:
                self._eof, self._error = True, error
            self._cond.notify_all()

    def abort(self, error: BaseException) -> None:
        """Drop what is queued and make the reader's next read raise ``error``."""
        with self._cond:
            self._items.clear()
            self._eof, self._error = True, error
            self._cond.notify_all()

    # --- thread side ---------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        if not self._buf:
            with self._cond:
                while not self._items and not self._eof and not self._stopped:
                    self._cond.wait()
                if self._items:
                    self._buf = memoryview(self._items.popleft())
                elif self._error is not None:
                    raise self._error
                else:
                    return 0
            self._wake.set_from_thread()  # room for the next chunk
        # a view, not a slice: small reads from a big chunk must not copy its rest each time
        n = min(len(view), len(self._buf))
        view[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._items.clear()
            self._cond.notify_all()
        self._wake.set_from_thread()
        super().close()


def _name_thread() -> None:
    """Give the OS thread the bridge's name, so ``/proc/<pid>/task/*/comm`` shows it."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_NAME, THREAD_NAME.encode(), 0, 0, 0)
    except (OSError, AttributeError):
        pass


async def _settled(fut: asyncio.Future[Any]) -> None:
    """Wait for a worker whose outcome is moot (its error was raised by other means, or
    the client left): it must still end before what it used is released."""
    await asyncio.wait([fut])
    if not fut.cancelled():
        fut.exception()  # marks it retrieved


def run_thread(fn: Callable[[], R]) -> asyncio.Future[R]:
    """``fn()`` in a daemon thread of its own; its outcome as a future of the loop."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[R] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if fut.done():
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def main() -> None:
        _name_thread()
        try:
            result: Any = fn()
            ok = True
        except BaseException as e:  # handed to the loop, raised there
            result, ok = e, False
        try:
            loop.call_soon_threadsafe(settle, ok, result)
        except RuntimeError:  # the loop closed meanwhile
            pass

    threading.Thread(target=main, name=THREAD_NAME, daemon=True).start()
    return fut


async def stream_thread(
    produce: Callable[[Callable[[T], None]], None], maxsize: int = 8
) -> AsyncGenerator[T, None]:
    """Run ``produce(put)`` in a thread and yield what it puts, in order.

    The worker's error is raised here.  When the consumer stops early (the client left)
    the worker's next ``put`` raises ``BrokenPipeError``; closing this generator waits for
    the worker to end, so what it used (a mount, a file) can be released afterwards."""
    channel: ToLoop[T] = ToLoop(maxsize)

    def main() -> None:
        try:
            produce(channel.put)
        except BaseException as e:
            channel.finish(e)
            raise
        channel.finish()

    done = run_thread(main)
    try:
        while True:
            more, item = await channel.get()
            if not more:
                break
            yield cast(T, item)
    finally:
        channel.cancel()
        await _settled(done)


async def feed(body: AsyncIterator[bytes], reader: FromLoop) -> None:
    """Hand ``body``'s chunks to ``reader`` until its end; stops quietly when the reader's
    worker ended (its outcome tells the request); a body that fails or is cancelled ends
    the reader with an error so the worker stops too."""
    try:
        async for chunk in body:
            try:
                await reader.put(chunk)
            except BrokenPipeError:  # the worker stopped reading: nothing more to hand
                return
    except BaseException as e:
        text = f"the upload stopped: {e}" if str(e) else "the upload stopped"
        reader.finish(BrokenPipeError(text))
        raise
    reader.finish()


async def feed_thread(
    body: AsyncIterator[bytes], work: Callable[[BinaryIO], R], maxsize: int = 8
) -> R:
    """Run ``work(reader)`` in a thread while ``body`` is fed to ``reader``; its result.

    The worker's outcome ends the request at once, even when the body is still arriving
    (the rest is left unread); a client that leaves mid-body makes the worker's next read
    raise, and a cancelled request waits for the worker to notice before it ends."""
    reader = FromLoop(maxsize)

    def main() -> R:
        try:
            return work(cast(BinaryIO, io.BufferedReader(reader, 1 << 16)))
        finally:
            reader.close()

    done = run_thread(main)
    feeder = asyncio.ensure_future(feed(body, reader))
    try:
        both: list[asyncio.Future[Any]] = [done, feeder]
        await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
        if feeder.done() and not feeder.cancelled() and feeder.exception() is not None:
            await _settled(done)  # the worker reads the error and ends
            raise cast(BaseException, feeder.exception())
        return await done
    finally:
        if not feeder.done():
            feeder.cancel()
            await asyncio.wait([feeder])
        if not done.done():
            reader.abort(BrokenPipeError("the request was cancelled"))
            await _settled(done)


class WorkerPool:
    """Blocking calls on ``threads`` threads of their own, named ``name-N`` in ``/proc``.

    ``call`` awaits one from the loop; ``submit`` is for code that is not on the loop (or
    runs before it), and blocks only its caller when it waits for the result.  A call that
    is waited on no more (its request was cancelled) still runs to its end: pool work is
    short and must not be cut half way (a netlink change, a store request)."""

    def __init__(
        self, threads: int, name: str, initializer: Callable[[], None] | None = None
    ) -> None:
        # initializer: run once in each thread as it starts (e.g. entering a namespace)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            threads, thread_name_prefix=name, initializer=initializer
        )

    async def call(self, fn: Callable[..., R], *args: Any) -> R:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def submit(self, fn: Callable[..., R], *args: Any) -> concurrent.futures.Future[R]:
        return self._executor.submit(fn, *args)

    def shutdown(self) -> None:
        """No new calls; those running finish in their threads."""
        self._executor.shutdown(wait=False)
