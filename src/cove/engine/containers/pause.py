"""pause/unpause: the runtime freezes every process of the container (cgroup freezer).

A frozen process cannot act on a signal, so stop, kill and ``rm -f`` thaw the container
first (dockerd does the same after signalling); the record says "paused" only while the
runtime's freezer holds the container.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal as _signal

from cove.engine.containers.signals import parse_signal
from cove.engine.containers.steps import ContainerSteps
from cove.engine.record import Container
from cove.engine.state import Status
from cove.errors import Conflict


async def container_pause(eng: ContainerSteps, ref: str) -> None:
    async with eng.operation(ref, "pause", _not_pausable) as c:
        await eng.runtime.pause(c.id)
        c.set_paused()


async def container_unpause(eng: ContainerSteps, ref: str) -> None:
    async with eng.operation(ref, "unpause", _not_paused) as c:
        await eng.runtime.resume(c.id)
        c.set_unpaused()


async def _thaw(eng: ContainerSteps, c: Container) -> None:
    await eng.runtime.resume(c.id)
    c.set_unpaused()
    c.save()


async def thaw_for_signal(eng: ContainerSteps, ref: str) -> None:
    c = eng.find(ref)
    if c.status == Status.PAUSED and eng.monitor_alive(c):
        async with eng.lock(c.id):
            if c.status == Status.PAUSED:
                await _thaw(eng, c)
                eng.emit(c, "unpause")


async def kill_thawed(eng: ContainerSteps, ref: str, signal: str | None) -> None:
    """``kill`` of a paused container: SIGKILL and SIGTERM thaw it first (a frozen
    process cannot die)."""
    sig = parse_signal(signal, _signal.SIGKILL)
    if sig in (_signal.SIGKILL, _signal.SIGTERM):
        await thaw_for_signal(eng, ref)
    c = eng.find(ref)
    # as dockerd, a SIGKILL answers once the container is gone (clients reload and
    # expect "exited")
    fut = None
    if sig == _signal.SIGKILL and c.status == Status.RUNNING:
        fut = eng.exit_future(c)
    try:
        await eng.kill_step(ref, signal)
    except BaseException:
        if fut is not None:
            eng.forget_exit_future(c, fut)
        raise
    if fut is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(fut), 10)


def _not_pausable(c: Container) -> Conflict:
    if c.status == Status.PAUSED:
        return Conflict(f"Container {c.id} is already paused")
    return Conflict(f"Container {c.id} is not running")


def _not_paused(c: Container) -> Conflict:
    return Conflict(f"Container {c.id} is not paused")
