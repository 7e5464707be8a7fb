"""The thread <-> event loop bridge: bounded, never blocking the loop, and each side learns
when the other one stopped."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import BinaryIO

import pytest

from cove.util.bridge import feed_thread, stream_thread


async def _ticker(stop: asyncio.Event, ticks: list[int]) -> None:
    """Counts loop turns: a blocked loop would leave it at zero."""
    while not stop.is_set():
        ticks.append(1)
        await asyncio.sleep(0.001)


def test_stream_yields_in_order_and_raises_worker_error() -> None:
    def produce(put: Callable[[int], None]) -> None:
        for i in range(100):
            put(i)
        raise ValueError("tar broke")

    async def main() -> list[int]:
        got: list[int] = []
        with pytest.raises(ValueError, match="tar broke"):
            async for item in stream_thread(produce, maxsize=2):
                got.append(item)
        return got

    assert asyncio.run(main()) == list(range(100))


def test_stream_consumer_leaving_stops_the_worker() -> None:
    ended = threading.Event()
    seen: list[BaseException] = []

    def produce(put: Callable[[bytes], None]) -> None:
        try:
            while True:  # endless: only the consumer's departure ends it
                put(b"x" * 1024)
        except BaseException as e:
            seen.append(e)
            raise
        finally:
            ended.set()

    async def main() -> None:
        gen = stream_thread(produce, maxsize=1)
        await anext(gen)
        await gen.aclose()  # waits for the worker to notice

    asyncio.run(main())
    assert ended.is_set()
    assert isinstance(seen[0], BrokenPipeError)


async def _body(chunks: list[bytes], fail: BaseException | None = None) -> AsyncIterator[bytes]:
    for c in chunks:
        await asyncio.sleep(0)
        yield c
    if fail is not None:
        raise fail


def test_feed_reads_everything_without_blocking_the_loop() -> None:
    def work(f: BinaryIO) -> int:
        return len(f.read())

    async def main() -> tuple[int, int]:
        stop, ticks = asyncio.Event(), []
        ticker = asyncio.ensure_future(_ticker(stop, ticks))
        n = await feed_thread(_body([b"a" * 65536] * 64), work, maxsize=2)
        stop.set()
        await ticker
        return n, len(ticks)

    n, ticks = asyncio.run(main())
    assert n == 64 * 65536
    assert ticks > 0


def test_worker_dying_ends_the_feed_with_its_error() -> None:
    """The wedge of issue 14: the worker died with the queue full; the feeder must not
    block but get the worker's error, even though the body never ends."""

    async def endless() -> AsyncIterator[bytes]:
        while True:
            await asyncio.sleep(0)
            yield b"y" * 4096

    def work(f: BinaryIO) -> None:
        f.read(10)
        raise ValueError("corrupt tar")

    async def main() -> None:
        with pytest.raises(ValueError, match="corrupt tar"):
            await asyncio.wait_for(feed_thread(endless(), work, maxsize=1), 30)

    asyncio.run(main())


def test_body_failing_makes_the_worker_read_an_error() -> None:
    errors: list[BaseException] = []

    def work(f: BinaryIO) -> None:
        try:
            while f.read(4096):
                pass
        except BaseException as e:
            errors.append(e)
            raise

    async def main() -> None:
        with pytest.raises(ConnectionResetError):
            await feed_thread(_body([b"z"] * 10, ConnectionResetError("gone")), work)

    asyncio.run(main())
    assert isinstance(errors[0], BrokenPipeError)


def test_cancelled_feed_stops_the_worker() -> None:
    ended = threading.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"a"
        await asyncio.sleep(3600)
        yield b"b"

    def work(f: BinaryIO) -> None:
        try:
            while f.read(1):
                pass
        finally:
            ended.set()

    async def main() -> None:
        task = asyncio.ensure_future(feed_thread(slow(), work))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert ended.is_set()
