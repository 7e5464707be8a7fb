"""Restart policies, carried out by the daemon as dockerd's restart manager does.

After an exit is recorded, ``no``/``on-failure[:N]``/``always``/``unless-stopped`` decide
whether the container starts again.  The delay doubles from 100 ms on each restart up to
one minute and falls back to 100 ms once a run lasted 10 s or more.  A container stopped
or killed by a user is "manually stopped": no restart until a user starts it again, or,
for ``always``, until the daemon restarts.  While it waits the container is "restarting".

At daemon start (``restart_on_boot``) every container that is not running and whose policy
says so is started: ``always`` ones, ``unless-stopped`` ones not stopped by a user, and
``on-failure`` ones that failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from cove.engine.context import EngineContext
from cove.engine.record import Container
from cove.engine.state import Status
from cove.errors import CoveError
from cove.util.timefmt import parse_rfc3339

log = logging.getLogger("cove.engine")
MIN_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER = 10.0


def should_restart(policy: dict[str, object], code: int, manual: bool, count: int) -> bool:
    name = str(policy.get("Name") or "no")
    if manual:
        return False
    if name in ("always", "unless-stopped"):
        return True
    if name == "on-failure":
        limit = int(str(policy.get("MaximumRetryCount") or 0))
        return code != 0 and (limit == 0 or count < limit)
    return False


def next_delay(previous: float, ran_for: float) -> float:
    if ran_for >= RESET_AFTER or previous <= 0:
        return MIN_DELAY
    return min(previous * 2, MAX_DELAY)


class RestartPolicy:
    """Restart policies and their timers, a part the container operations hold
    (``self.restarts``): built from the shared context (the container table, locks, events)
    and the start step (``start_locked``, called under the container's lock).  ops.py calls
    ``before_*`` ahead of the user's operations and ``after_exit`` once an exit is recorded."""

    def __init__(
        self, ctx: EngineContext, start_locked: Callable[[Container], Awaitable[None]]
    ) -> None:
        self.containers = ctx.containers
        self.lock = ctx.lock
        self.emit = ctx.emit
        self._start_locked = start_locked
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def after_exit(self, c: Container) -> None:
        """After an exit was recorded: the policy's restart, after its back-off."""
        if c.host_config.get("AutoRemove"):
            return
        manual = c.manually_stopped
        code = int(c.state.get("ExitCode") or 0)
        policy = c.host_config.get("RestartPolicy") or {}
        if not should_restart(policy, code, manual, int(c.data.get("RestartCount") or 0)):
            return
        ran = time.time() - parse_rfc3339(str(c.state.get("StartedAt") or ""))
        delay = next_delay(c.restart_delay, ran)
        c.restart_delay = delay
        c.set_restarting()
        c.save()
        self._schedule(c, delay)

    def _schedule(self, c: Container, delay: float) -> None:
        async def later() -> None:
            try:
                await asyncio.sleep(delay)
                async with self.lock(c.id):
                    if c.id not in self.containers or c.status != Status.RESTARTING:
                        return
                    c.data["RestartCount"] = int(c.data.get("RestartCount") or 0) + 1
                    c.set_restart_over()
                    try:
                        await self._start_locked(c)
                    except CoveError as e:
                        log.warning("restarting container %s: %s", c.id, e)
            finally:
                self._tasks.pop(c.id, None)

        old = self._tasks.pop(c.id, None)
        if old is not None:
            old.cancel()
        self._tasks[c.id] = asyncio.get_running_loop().create_task(later())

    def _cancel_restart(self, c: Container) -> None:
        task = self._tasks.pop(c.id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        if c.status == Status.RESTARTING:
            c.set_restart_over()
            c.save()

    # --- user actions mark the container "manually stopped" (called by ops.py) -------------
    def before_stop(self, c: Container) -> bool:
        """True when the container was only waiting to restart: then that wait is the
        whole stop."""
        c.manually_stopped = True
        if c.status == Status.RESTARTING:
            self._cancel_restart(c)
            self.emit(c, "stop")
            return True
        return False

    def before_kill(self, c: Container) -> None:
        c.manually_stopped = True
        self._cancel_restart(c)

    def before_start(self, c: Container) -> None:
        self._cancel_restart(c)
        c.manually_stopped = False
        c.restart_delay = 0

    def before_remove(self, c: Container, force: bool) -> None:
        if c.status == Status.RESTARTING and force:
            self._cancel_restart(c)

    async def restart_on_boot(self) -> None:
        for c in list(self.containers.values()):
            # decided under the lock: an exit found by the restore has already scheduled
            # its restart, whose timer may have fired (and started it) meanwhile
            async with self.lock(c.id):
                try:
                    await self._start_on_boot(c)
                except Exception:
                    log.exception("starting container %s at daemon start", c.id)

    async def _start_on_boot(self, c: Container) -> None:
        if c.id not in self.containers:
            return
        if c.status == Status.RESTARTING:
            self._cancel_restart(c)  # started now instead of after the back-off
        if c.status != Status.EXITED or not parse_rfc3339(str(c.state.get("StartedAt"))):
            return
        policy = c.host_config.get("RestartPolicy") or {}
        name = str(policy.get("Name") or "no")
        manual = c.manually_stopped and name != "always"
        if not should_restart(policy, int(c.state.get("ExitCode") or 0), manual, 0):
            return
        c.manually_stopped = False
        await self._start_locked(c)
