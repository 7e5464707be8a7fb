"""The engine: the services composed into the one object the API calls (the facade).

It is handed the services built over the shared context (engine/assemble.py, which the
daemon's wiring and cove.testing call) and forwards the facade's operations to them; it
builds and inherits none of them:

- ``container_service`` (containers/service.py): create, start/stop/kill/rm, attach, exec,
  logs, restart policies, health, ps/inspect, pause, top, stats, update, prune, restore;
- ``volume_service`` (fs/volumes.py), ``archive`` (fs/archive.py, docker cp);
- ``image_service`` (images/service.py), ``transfers`` (save/load/export), ``registry``
  (pull/push/login/search), commit and diff (functions over the context);
- ``networking`` (networks/service.py, with its overlay driver), which the container
  service reaches as its ContainerNetworking (``net``);
- ``system_service`` (system.py): version, info, df, events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from cove.engine.containers.service import ContainerService
from cove.engine.context import EngineContext
from cove.engine.fs.archive import ArchiveOps
from cove.engine.fs.volumes import VolumeService
from cove.engine.images import commit
from cove.engine.images.changes import container_changes as diff_of
from cove.engine.images.export import ExportOps
from cove.engine.images.registry_ops import RegistryOps
from cove.engine.images.service import ImageService
from cove.engine.networks.networking import ContainerNetworking
from cove.engine.networks.service import NetworkOps
from cove.engine.record import Container
from cove.engine.system import SystemService
from cove.util.jsontypes import Json
from cove.util.streams import AttachSession, Chunk


@dataclass(frozen=True)
class Services:
    """What the facade holds, built by ``assemble.build_services`` (the composition root's
    part that the daemon and the tests share)."""

    containers: ContainerService
    volumes: VolumeService
    images: ImageService
    system: SystemService
    networking: NetworkOps
    registry: RegistryOps
    archive: ArchiveOps
    transfers: ExportOps


class Engine:
    def __init__(self, ctx: EngineContext, services: Services) -> None:
        self.ctx = ctx
        # the context's parts: the builder's BuildBackend reads images, snapshotter and paths
        # of the engine the API hands it; the daemon and tests look at the rest
        self.paths = ctx.paths
        self.images = ctx.images
        self.snapshotter = ctx.snapshotter
        self.runtime = ctx.runtime
        self.options = ctx.options
        self.bus = ctx.bus
        self.containers = ctx.containers
        self.names = ctx.names
        self.volume_service = services.volumes
        self.container_service = services.containers
        self.exec_service = services.containers.exec_service
        self.image_service = services.images
        self.system_service = services.system
        # the container service reaches the network service as ``net`` (ContainerNetworking),
        # the routes through the forwarding methods below
        self.networking = services.networking
        self.registry = services.registry
        self.archive = services.archive
        self.transfers = services.transfers

    @property
    def net(self) -> ContainerNetworking:
        """Networking as the containers see it (a fake in unit tests: assign it here)."""
        return self.container_service.net

    @net.setter
    def net(self, value: ContainerNetworking) -> None:
        self.container_service.net = value

    def find(self, ref: str) -> Container:
        return self.ctx.find(ref)

    # --- daemon start ---------------------------------------------------------------------
    async def restore(self) -> None:
        """The containers (records reconciled with the runtime, leftovers of cut operations
        cleared), then the networks, then the restarts the policies ask for."""
        await self.container_service.restore()
        await self.networking.net_restore()
        await self.container_service.restarts.restart_on_boot()

    # --- containers (the container service's operations) --------------------------------
    async def container_create(self, name: str | None, body: Json) -> tuple[str, list[str]]:
        return await self.container_service.container_create(name, body)

    async def container_start(self, ref: str) -> None:
        await self.container_service.container_start(ref)

    async def container_stop(self, ref: str, timeout: int | None, signal: str | None) -> None:
        await self.container_service.container_stop(ref, timeout, signal)

    async def container_restart(self, ref: str, timeout: int | None, signal: str | None) -> None:
        await self.container_service.container_restart(ref, timeout, signal)

    async def container_kill(self, ref: str, signal: str | None) -> None:
        await self.container_service.container_kill(ref, signal)

    async def container_remove(self, ref: str, force: bool, volumes: bool) -> None:
        await self.container_service.container_remove(ref, force, volumes)

    async def container_wait(self, ref: str, condition: str) -> Json:
        return await self.container_service.container_wait(ref, condition)

    def container_list(
        self, all: bool, limit: int, size: bool, filters: dict[str, list[str]]
    ) -> list[Json]:
        return self.container_service.query.container_list(all, limit, size, filters)

    def container_inspect(self, ref: str, size: bool = False) -> Json:
        return self.container_service.query.container_inspect(ref, size)

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
        return self.container_service.container_logs(
            ref,
            follow=follow,
            stdout=stdout,
            stderr=stderr,
            since=since,
            until=until,
            timestamps=timestamps,
            tail=tail,
        )

    async def container_attach(
        self,
        ref: str,
        *,
        stdin: bool,
        stdout: bool,
        stderr: bool,
        logs: bool,
        stream: bool,
        detach_keys: str = "",
    ) -> AttachSession:
        return await self.container_service.container_attach(
            ref,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            logs=logs,
            stream=stream,
            detach_keys=detach_keys,
        )

    async def container_resize(self, ref: str, height: int, width: int) -> None:
        await self.container_service.container_resize(ref, height, width)

    async def container_rename(self, ref: str, new_name: str) -> None:
        await self.container_service.container_rename(ref, new_name)

    async def container_top(self, ref: str, ps_args: str) -> Json:
        return await self.container_service.container_top(ref, ps_args)

    async def container_pause(self, ref: str) -> None:
        await self.container_service.container_pause(ref)

    async def container_unpause(self, ref: str) -> None:
        await self.container_service.container_unpause(ref)

    def container_stats(self, ref: str, stream: bool, one_shot: bool) -> AsyncIterator[Json]:
        return self.container_service.container_stats(ref, stream, one_shot)

    async def container_update(self, ref: str, body: Json) -> list[str]:
        return await self.container_service.container_update(ref, body)

    async def containers_prune(self, filters: dict[str, list[str]]) -> Json:
        return await self.container_service.containers_prune(filters)

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
        return diff_of(self.ctx, ref)

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
            self.ctx, ref, repo, tag, comment, author, changes, pause, config
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
