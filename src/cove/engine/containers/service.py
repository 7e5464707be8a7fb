"""The container operations as one service the engine holds (``engine.container_service``).

It is built from the shared context and the volume service; the parts it holds are create
(``creator``), the exec service (``exec_service``), restart policies (``restarts``) and
health checks (``health``), ps and inspect (``query``), and it reaches networking through
``net`` (the ContainerNetworking Protocol), which the composition root (engine/assemble.py)
sets to the network service.  Its own steps are still one chain of classes (ops.py over
lifecycle.py over base.py); attach, pause, top, stats, update and prune are functions that
see it as the ContainerSteps Protocol.  Restore at daemon start is its part of the engine's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

from cove.engine import logs, recover
from cove.engine.containers import names
from cove.engine.containers.create import ContainerCreator
from cove.engine.containers.execs import ExecService
from cove.engine.containers.ops import ContainerOps
from cove.engine.containers.query import ContainerQuery
from cove.engine.containers.spec import exec_process
from cove.engine.containers.steps import ContainerSteps
from cove.engine.context import EngineContext
from cove.engine.fs.volumes import VolumeService
from cove.engine.logs import read_log
from cove.engine.record import Container
from cove.engine.state import Status
from cove.errors import Conflict, CoveError, InvalidArgument
from cove.runtime.base import ProcessInfo
from cove.util.jsontypes import Json
from cove.util.streams import STDERR, STDOUT, Chunk

log = logging.getLogger("cove.engine")


class ContainerService(ContainerOps):
    exec_service: ExecService  # the container steps see it as ContainerExecs

    def __init__(self, ctx: EngineContext, volumes: VolumeService) -> None:
        super().__init__(ctx)
        self.volume_service = volumes
        self._init_lifecycle()
        self.exec_service = ExecService(ctx, self.sync, lambda c, body: exec_process(self, c, body))
        self.creator = ContainerCreator(ctx, self)
        self.query = ContainerQuery(ctx, self.monitor_alive, self.exec_service)  # ps, inspect

    async def container_create(self, name: str | None, body: Json) -> tuple[str, list[str]]:
        return await self.creator.container_create(name, body)

    # --- logs -----------------------------------------------------------------------------
    def container_logs(
        self,
        ref: str,
        *,
        follow: bool,
        stdout: bool,
        stderr: bool,
        since: float,
        until: float,
        timestamps: bool,
        tail: str,
    ) -> tuple[bool, AsyncIterator[Chunk]]:
        c = self.find(ref)
        if not stdout and not stderr:
            raise InvalidArgument("You must choose at least one stream")
        streams = ({STDOUT} if stdout else set()) | ({STDERR} if stderr else set())
        logs.check_readable(c.host_config)

        def running() -> bool:
            return c.status in (Status.RUNNING, Status.PAUSED) and self.monitor_alive(c)

        it = read_log(
            logs.log_path_of(self.paths, c.id, c.data),
            follow=follow,
            streams=streams,
            since=since,
            until=until,
            timestamps=timestamps,
            tail=tail,
            running=running,
        )
        return c.tty, it

    async def container_rename(self, ref: str, new_name: str) -> None:
        c = self.find(ref)
        new = names.validate(new_name)
        async with self.lock(c.id):
            # checked under the lock: a rename that waited for it must not take a name
            # another request took meanwhile
            if new in self.names:
                raise Conflict(
                    f'Conflict. The container name "/{new}" is already in use by container '
                    f'"{self.names[new]}". You have to remove (or rename) that container to be '
                    "able to reuse that name."
                )
            old = c.name
            c.data["Name"] = "/" + new
            self.names.pop(old, None)
            self.names[new] = c.id
            c.save()
        self.emit(c, "rename", {"oldName": "/" + old})

    # --- daemon start ---------------------------------------------------------------------
    async def restore(self) -> None:
        """Load every record and reconcile it with the runtime: containers still running
        are watched again, those that exited while we were away get their real exit code,
        and auto-remove containers that exited are removed.  What a daemon killed half way
        through an operation left is cleared (see ``recover``).  The engine restores the
        networks next, then the restart policies start what they should."""
        root = os.path.join(self.paths.data_root, "containers")
        os.makedirs(root, exist_ok=True)
        orphan_volumes: list[str] = []
        for cid in os.listdir(root):
            d = os.path.join(root, cid)
            try:
                c = Container.load(d)
            except (OSError, ValueError) as e:
                log.warning("dropping unreadable container record %s: %s", d, e)
                orphan_volumes += recover.new_volumes(d)
                await asyncio.to_thread(recover.drop_directory, d)
                continue
            self.containers[c.id] = c
            self.names[c.name] = c.id
        for c in list(self.containers.values()):
            try:
                await self._reconcile(c)
            except Exception:
                log.exception("reconciling container %s", c.id)
        await logs.restore(self)  # the log keeper, if it stopped while coved was away
        await asyncio.to_thread(self._drop_orphans, orphan_volumes)

    async def _reconcile(self, c: Container) -> None:
        alive = self.monitor_alive(c)
        if c.status in (Status.RUNNING, Status.PAUSED) and alive:
            info = ProcessInfo(
                pid=int(c.state.get("Pid") or 0),
                monitor_pid=c.monitor_pid,
                pid_start=c.pid_start,
            )
            self.watch(c, info)
            if c.unmark_removing():
                c.save()  # a removal that failed before it touched anything
            return
        if c.status in (Status.RUNNING, Status.PAUSED):
            async with self.lock(c.id):
                await self._record_exit(c, 0)
        bundle = self.paths.bundle(c.id)
        if c.status != Status.RUNNING and recover.in_runtime_leftover(bundle):
            # a start cut short, or an exit while we were away: the runtime forgets the
            # container and kills its process, a monitor still there is killed
            task = self._deleting.pop(c.id, None)
            if task is not None:
                await task
            await self.runtime.delete(c.id, force=True)
            recover.kill_monitor(bundle, c.id)
            c.in_runtime = False
            self._unmount_rootfs(c)
            c.save_state()
        elif c.in_runtime and c.status != Status.RUNNING and c.id not in self._deleting:
            self._delete_later(c)  # a delete the previous daemon did not finish
        removing = c.removing  # None, or whether the cut removal took the volumes too
        if removing is not None or (c.host_config.get("AutoRemove") and c.status == Status.EXITED):
            async with self.lock(c.id):
                await self._remove_locked(c, bool(removing))
        elif c.status == Status.CREATED:
            self._unmount_rootfs(c)  # a start cut after the mount

    def _drop_orphans(self, volumes: list[str]) -> None:
        """Writable layers and bundles of containers that have no record (a create or a
        remove cut short), and the ``volumes`` a cut create made that no container uses.
        Runs before anything else can create a container."""
        vols = self.volume_service
        for name in volumes:
            if vols.volume_driver is not None and not vols.volume_users(name):
                log.warning("removing volume %s of a create that did not finish", name)
                with contextlib.suppress(CoveError, OSError):
                    vols.volume_driver.remove(name)
        for cid in self.snapshotter.container_ids():
            if cid not in self.containers:
                log.warning("removing the writable layer of unknown container %s", cid)
                try:
                    self.snapshotter.remove(cid)
                except CoveError as e:
                    log.warning("writable layer of %s: %s", cid, e)
        bundles = os.path.dirname(self.paths.bundle("x"))
        for cid in os.listdir(bundles) if os.path.isdir(bundles) else []:
            if cid not in self.containers:
                recover.drop_directory(os.path.join(bundles, cid))


def as_steps(service: ContainerService) -> ContainerSteps:
    """The service as the one-operation modules see it (the engine's facade hands it to
    them through ``Forward``, which mypy cannot follow): here mypy checks that it has every
    member of ContainerSteps."""
    return service
