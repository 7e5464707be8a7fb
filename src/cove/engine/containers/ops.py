"""The container operations as users call them, composed in one place from the families'
steps (lifecycle, restart policies, pause, health), in an order written out here rather
than decided by the order of the mixins' bases through ``super()`` chains.  The
one-operation modules (attach, pause, top, stats, update, prune) are functions over the
service as ContainerSteps; the engine's facade calls them with it (core.py's table)."""

from __future__ import annotations

import contextlib

from cove.engine.containers import pause
from cove.engine.containers.health import HealthMonitor
from cove.engine.containers.lifecycle import LifecycleOps
from cove.engine.containers.restart import RestartPolicy
from cove.engine.containers.spec import exec_process
from cove.engine.context import EngineContext
from cove.engine.record import Container
from cove.errors import NotModified
from cove.runtime.base import ProcessInfo


class ContainerOps(LifecycleOps):
    """The container operations; restart policies and health checks are parts they hold."""

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self.restarts = RestartPolicy(ctx, self._start_locked)
        self.health = HealthMonitor(ctx, lambda c, body: exec_process(self, c, body))

    async def container_start(self, ref: str) -> None:
        self.restarts.before_start(self.find(ref))  # a user's start ends a restart's wait
        await self._start(ref)

    async def container_stop(self, ref: str, timeout: int | None, signal: str | None) -> None:
        if self.restarts.before_stop(self.find(ref)):  # only waiting to restart: no more
            return
        await pause.thaw_for_signal(self, ref)  # a frozen process cannot take the signal
        await self._stop(ref, timeout, signal)

    async def container_kill(self, ref: str, signal: str | None) -> None:
        self.restarts.before_kill(self.find(ref))
        await pause.kill_thawed(self, ref, signal)  # thaws, and waits for a SIGKILL's exit

    async def container_remove(self, ref: str, force: bool, volumes: bool) -> None:
        self.restarts.before_remove(self.find(ref), force)
        if force:
            await pause.thaw_for_signal(self, ref)
        await self.remove_step(ref, force, volumes)

    async def container_restart(self, ref: str, timeout: int | None, signal: str | None) -> None:
        with contextlib.suppress(NotModified):
            await self.container_stop(ref, timeout, signal)
        await self.container_start(ref)
        self.emit(self.find(ref), "restart")

    # --- the engine's own events ---------------------------------------------------------
    def watch(self, c: Container, info: ProcessInfo) -> None:
        self._watch_exit(c, info)
        self.health.watch(c, info)

    async def _record_exit(self, c: Container, monitor_pid: int) -> None:
        self.health.stop(c)  # first: no probe may run against an exited container
        await self._record_exit_core(c, monitor_pid)
        self.restarts.after_exit(c)  # last: the policy sees the recorded exit code
