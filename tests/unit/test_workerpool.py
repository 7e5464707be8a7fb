"""util/bridge.WorkerPool: calls run on the pool's own named threads, one at a time for a
pool of one, with their results and errors handed back to the loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from cove.util.bridge import WorkerPool


def test_calls_run_in_order_on_the_pools_thread() -> None:
    pool = WorkerPool(1, "cove-test")
    seen: list[tuple[int, str]] = []

    def work(n: int) -> int:
        seen.append((n, threading.current_thread().name))
        return n * 2

    async def main() -> list[int]:
        return list(await asyncio.gather(*(pool.call(work, n) for n in range(5))))

    assert asyncio.run(main()) == [0, 2, 4, 6, 8]
    assert [n for n, _ in seen] == [0, 1, 2, 3, 4]
    assert all(name.startswith("cove-test") for _, name in seen)
    assert pool.submit(work, 7).result() == 14  # off the loop too
    pool.shutdown()


def test_errors_reach_the_caller() -> None:
    pool = WorkerPool(2, "cove-test")

    def boom() -> None:
        raise OSError("no such device")

    with pytest.raises(OSError, match="no such device"):
        asyncio.run(pool.call(boom))
    pool.shutdown()
