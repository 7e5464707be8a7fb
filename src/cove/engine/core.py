"""The engine: every operation family composed into one object that serves the API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

from cove.engine import logs, recover
from cove.engine.containers.create import CreateOps
from cove.engine.containers.execs import ExecService
from cove.engine.containers.ops import OpsMixins
from cove.engine.containers.spec import exec_process
from cove.engine.context import EngineContext
from cove.engine.fs.archive import ArchiveOps
from cove.engine.fs.volumes import VolumeService
from cove.engine.images import commit
from cove.engine.images.changes import container_changes as diff_of
from cove.engine.images.export import ExportOps
from cove.engine.images.registry_ops import RegistryOps
from cove.engine.images.service import ImageService
from cove.engine.logs import read_log
from cove.engine.networks.service import NetworkOps
from cove.engine.record import Container
from cove.engine.state import Status
from cove.engine.system import SystemService
from cove.errors import Conflict, CoveError, InvalidArgument
from cove.runtime.base import ProcessInfo
from cove.util.jsontypes import Json
from cove.util.streams import STDERR, STDOUT, AttachSession, Chunk
from cove.volume.base import VolumeDriver

log = logging.getLogger("cove.engine")


class Engine(CreateOps, OpsMixins):
    exec_service: ExecService  # the container operations see it as ContainerExecs

    def __init__(self, ctx: EngineContext, volumes: VolumeDriver | None = None) -> None:
        super().__init__(ctx)
        self.volume_service = VolumeService(ctx, volumes)
        self.image_service = ImageService(ctx)
        self.system_service = SystemService(
            ctx, self.image_service, self.volume_service, self.container_list
        )
        self._init_lifecycle()
        self.exec_service = ExecService(ctx, self.sync, lambda c, body: exec_process(self, c, body))
        # the network service is held, not inherited: containers reach it as self.net
        # (ContainerNetworking), the routes through the forwarding methods below
        self.networking = NetworkOps(self)
        self.net = self.networking
        self.registry = RegistryOps(ctx.images, ctx.options, ctx.paths, ctx.bus)
        self.archive = ArchiveOps(ctx, self.volume_service)
        self.transfers = ExportOps(self)

    # --- volumes (the volume service's operations, as the facade declares them) -----------
    async def volume_create(self, body: Json) -> Json:
        return await self.volume_service.volume_create(body)

    def volume_list(self, filters: dict[str, list[str]]) -> Json:
        return self.volume_service.volume_list(filters)

    def volume_inspect(self, name: str) -> Json:
        return self.volume_service.volume_inspect(name)

    async def volume_remove(self, name: str, force: bool) -> None:
        await self.volume_service.volume_remove(name, force)

    async def volume_prune(self, filters: dict[str, list[str]], all_volumes: bool) -> Json:
        return await self.volume_service.volume_prune(filters, all_volumes)

    # --- system and images (the system and image services' operations) ------------------
    def version(self) -> Json:
        return self.system_service.version()

    def info(self) -> Json:
        return self.system_service.info()

    def system_df(self) -> Json:
        return self.system_service.system_df()

    def events(
        self, since: float | None, until: float | None, filters: dict[str, list[str]]
    ) -> AsyncIterator[Json]:
        return self.system_service.events(since, until, filters)

    def image_list(self, all: bool, filters: dict[str, list[str]], digests: bool) -> list[Json]:
        return self.image_service.image_list(all, filters, digests)

    def image_inspect(self, ref: str) -> Json:
        return self.image_service.image_inspect(ref)

    def image_history(self, ref: str) -> list[Json]:
        return self.image_service.image_history(ref)

    async def image_tag(self, ref: str, repo: str, tag: str | None) -> None:
        await self.image_service.image_tag(ref, repo, tag)

    async def image_remove(self, ref: str, force: bool, noprune: bool) -> list[Json]:
        return await self.image_service.image_remove(ref, force, noprune)

    async def images_prune(self, filters: dict[str, list[str]]) -> Json:
        return await self.image_service.images_prune(filters)

    async def image_import(
        self,
        source: AsyncIterator[bytes] | str,
        repo: str | None,
        tag: str | None,
        changes: list[str],
        message: str | None,
        platform: str | None,
    ) -> str:
        return await self.image_service.image_import(source, repo, tag, changes, message, platform)

    # --- exec (the exec service's operations) ----------------------------------------------
    async def exec_create(self, ref: str, body: Json) -> str:
        return await self.exec_service.exec_create(ref, body)

    def exec_inspect(self, exec_id: str) -> Json:
        return self.exec_service.exec_inspect(exec_id)

    async def exec_start(self, exec_id: str, detach: bool, tty: bool) -> AttachSession | None:
        return await self.exec_service.exec_start(exec_id, detach, tty)

    async def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        await self.exec_service.exec_resize(exec_id, height, width)

    # --- save, load, export, diff ----------------------------------------------------------
    def image_save(self, names: list[str]) -> AsyncIterator[bytes]:
        return self.transfers.image_save(names)

    def image_load(self, body: AsyncIterator[bytes], quiet: bool) -> AsyncIterator[Json]:
        return self.transfers.image_load(body, quiet)

    def container_export(self, ref: str) -> AsyncIterator[bytes]:
        return self.transfers.container_export(ref)

    def container_changes(self, ref: str) -> list[Json]:
        return diff_of(self, ref)

    # --- docker cp (the archive operations') ----------------------------------------------
    async def container_archive_stat(self, ref: str, path: str) -> Json:
        return await self.archive.container_archive_stat(ref, path)

    async def container_archive_get(self, ref: str, path: str) -> tuple[Json, AsyncIterator[bytes]]:
        return await self.archive.container_archive_get(ref, path)

    async def container_archive_put(
        self,
        ref: str,
        path: str,
        body: AsyncIterator[bytes],
        no_overwrite_dir_non_dir: bool,
        copy_uid_gid: bool,
    ) -> None:
        await self.archive.container_archive_put(
            ref, path, body, no_overwrite_dir_non_dir, copy_uid_gid
        )

    # --- registries (the registry client's operations, as the facade declares them) --------
    def image_pull(
        self, image: str, tag: str | None, platform: str | None, auth: str | None
    ) -> AsyncIterator[Json]:
        return self.registry.image_pull(image, tag, platform, auth)

    def image_push(self, name: str, tag: str | None, auth: str | None) -> AsyncIterator[Json]:
        return self.registry.image_push(name, tag, auth)

    async def auth(self, body: Json) -> Json:
        return await self.registry.auth(body)

    async def distribution_inspect(self, name: str, auth: str | None) -> Json:
        return await self.registry.distribution_inspect(name, auth)

    async def image_search(
        self, term: str, limit: int, filters: dict[str, list[str]], auth: str | None
    ) -> list[Json]:
        return await self.registry.image_search(term, limit, filters, auth)

    async def container_commit(
        self,
        ref: str,
        repo: str | None,
        tag: str | None,
        comment: str,
        author: str,
        changes: list[str],
        pause: bool,
        config: Json | None,
    ) -> str:
        return await commit.container_commit(
            self, ref, repo, tag, comment, author, changes, pause, config
        )

    # --- networks (the network service's operations, as the facade declares them) ---------
    def network_list(self, filters: dict[str, list[str]]) -> list[Json]:
        return self.networking.network_list(filters)

    def network_inspect(self, ref: str, verbose: bool = False) -> Json:
        return self.networking.network_inspect(ref, verbose)

    async def network_create(self, body: Json) -> Json:
        return await self.networking.network_create(body)

    async def network_remove(self, ref: str) -> None:
        await self.networking.network_remove(ref)

    async def network_prune(self, filters: dict[str, list[str]]) -> Json:
        return await self.networking.network_prune(filters)

    async def network_connect(self, ref: str, body: Json) -> None:
        await self.networking.network_connect(ref, body)

    async def network_disconnect(self, ref: str, body: Json) -> None:
        await self.networking.network_disconnect(ref, body)

    async def container_remove_link(self, name: str) -> None:
        await self.networking.container_remove_link(name)

    async def net_shutdown(self) -> None:
        await self.networking.net_shutdown()

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
        from cove.engine.containers import names

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
        through an operation left is cleared (see ``recover``)."""
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
        await self.networking.net_restore()
        await self.restarts.restart_on_boot()

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
