"""What the one-operation modules (attach, pause, top, update, prune, stats) use of the
container service: the shared context's parts, the lookups, and lifecycle's named steps.

They take this Protocol rather than the service's class, so that none of them depends on
how the service is put together (its chain of steps, or what it holds), and a unit test can
hand them any object with these members.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from cove.engine.context import EngineOptions, Paths
from cove.engine.events import EventBus
from cove.engine.record import Container
from cove.errors import CoveError
from cove.runtime.base import Runtime
from cove.snapshot.base import Snapshotter
from cove.util.streams import AttachSession


class ContainerSteps(Protocol):
    paths: Paths
    runtime: Runtime
    snapshotter: Snapshotter
    options: EngineOptions
    bus: EventBus
    containers: dict[str, Container]

    def find(self, ref: str) -> Container: ...

    def lock(self, cid: str) -> asyncio.Lock: ...

    def emit(self, c: Container, action: str, extra: dict[str, str] | None = None) -> None: ...

    def monitor_alive(self, c: Container) -> bool: ...

    async def sync(self, c: Container) -> None:
        """Fold an exit the watcher has not handled yet into the record."""

    def operation(
        self, ref: str, op: str, refuse: Callable[[Container], CoveError]
    ) -> AbstractAsyncContextManager[Container]:
        """Lock, sync, check ``op``'s transition, act (the body), save, emit."""

    async def attach_live(self, ref: str, *, stdin: bool) -> AttachSession: ...

    def exit_future(self, c: Container, cond: str = "next-exit") -> asyncio.Future[int]:
        """A future the container's next exit (or ``cond``) sets to its exit code."""

    def forget_exit_future(self, c: Container, fut: asyncio.Future[int]) -> None:
        """Drop a future of ``exit_future`` nobody will wait on."""

    async def kill_step(self, ref: str, signal: str | None) -> None:
        """Signal the running container (checked: Conflict when it is not running)."""

    async def remove_step(self, ref: str, force: bool, volumes: bool) -> None:
        """Remove the container's record and files (SIGKILL first with ``force``)."""
