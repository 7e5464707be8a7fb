"""pause/unpause: the runtime freezes every process of the container (cgroup freezer).

A frozen process cannot act on a signal, so stop, kill and ``rm -f`` thaw the container
first (dockerd does the same after signalling); the record says "paused" only while the
runtime's freezer holds the container.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal as _signal

from cove.engine.query import QueryOps
from cove.engine.record import Container
from cove.engine.signals import parse_signal
from cove.engine.state import Status
from cove.errors import Conflict


class PauseOps(QueryOps):
    async def container_pause(self, ref: str) -> None:
        async with self.operation(ref, "pause", _not_pausable) as c:
            await self.runtime.pause(c.id)
            c.set_paused()

    async def container_unpause(self, ref: str) -> None:
        async with self.operation(ref, "unpause", _not_paused) as c:
            await self.runtime.resume(c.id)
            c.set_unpaused()

    async def _thaw(self, c: Container) -> None:
        await self.runtime.resume(c.id)
        c.set_unpaused()
        c.save()

    async def _thaw_for_signal(self, ref: str) -> None:
        c = self.find(ref)
        if c.status == Status.PAUSED and self.monitor_alive(c):
            async with self.lock(c.id):
                if c.status == Status.PAUSED:
                    await self._thaw(c)
                    self.emit(c, "unpause")

    async def _kill_thawed(self, ref: str, signal: str | None) -> None:
        """``kill`` of a paused container: SIGKILL and SIGTERM thaw it first (a frozen
        process cannot die)."""
        sig = parse_signal(signal, _signal.SIGKILL)
        if sig in (_signal.SIGKILL, _signal.SIGTERM):
            await self._thaw_for_signal(ref)
        c = self.find(ref)
        # as dockerd, a SIGKILL answers once the container is gone (clients reload and
        # expect "exited")
        fut = None
        if sig == _signal.SIGKILL and c.status == Status.RUNNING:
            fut = self._exit_future(c)
        try:
            await self._kill(ref, signal)
        except BaseException:
            if fut is not None:
                with contextlib.suppress(ValueError, KeyError):
                    self._waiters[c.id].remove(("next-exit", fut))
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
