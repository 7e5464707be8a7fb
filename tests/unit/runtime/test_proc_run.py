"""``proc.run``: a command's status and output, its timeout, and a cancelled caller that
never holds up the event loop's shutdown (asyncio's own subprocess transport hung there on
Python 3.11 when the cancel came while it connected its pipes).  Commands are coreutils'
``sh``/``sleep``, each bounded by the timeout given."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from cove.runtime import proc


def test_status_and_output() -> None:
    rc, out, err = asyncio.run(proc.run(["sh", "-c", "echo out; echo ' err ' >&2; exit 3"]))
    assert (rc, out, err) == (3, "out\n", "err")


def test_timeout_kills_the_command() -> None:
    with pytest.raises(TimeoutError):
        asyncio.run(proc.run(["sleep", "30"], timeout=0.2))


def test_cancelled_at_every_step_then_the_loop_ends() -> None:
    """Every task but the test's own is cancelled after 0, 1, 2, ... turns of the loop, as
    asyncio.run's teardown cancels what is in flight (asyncio's inner tasks too); each run
    ends.  Bounded: a hang shows as this test's subprocess timing out."""
    script = f"""
import asyncio, sys
sys.path[:0] = {sys.path!r}
from cove.runtime import proc

async def cancel_after(turns):
    task = asyncio.ensure_future(proc.run(["sh", "-c", "exit 0"], timeout=10))
    for _ in range(turns):
        await asyncio.sleep(0)
    me = asyncio.current_task()
    for t in asyncio.all_tasks():
        if t is not me:
            t.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass

for turns in range(12):
    asyncio.run(cancel_after(turns))
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)


def test_daemonizes_returns_when_the_command_ends() -> None:
    """A command whose daemon keeps its stdout and stderr (as conmon's does): the call returns
    when the command itself exits, with its output (pipes would wait for the daemon)."""
    script = "echo out; echo err >&2; sleep 3 & exit 2"
    rc, out, err = asyncio.run(proc.run(["sh", "-c", script], timeout=10, daemonizes=True))
    assert (rc, out, err) == (2, "out\n", "err")


def test_to_end_runs_its_step_to_the_end_then_raises_the_cancel() -> None:
    done: list[str] = []

    async def step() -> str:
        await asyncio.sleep(0.05)
        done.append("step")
        return "x"

    async def main() -> None:
        task = asyncio.ensure_future(proc.to_end(step()))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert done == ["step"]
        assert await proc.to_end(step()) == "x"

    asyncio.run(main())
