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

from dataclasses import dataclass

from cove.engine.containers import attach, pause, prune, stats, top, update
from cove.engine.containers.execs import ExecService
from cove.engine.containers.query import ContainerQuery
from cove.engine.containers.service import ContainerService
from cove.engine.context import EngineContext
from cove.engine.facade import EngineFacade
from cove.engine.fs.archive import ArchiveOps
from cove.engine.fs.volumes import VolumeService
from cove.engine.images import commit
from cove.engine.images.changes import container_changes as diff_of
from cove.engine.images.export import ExportOps
from cove.engine.images.registry_ops import RegistryOps
from cove.engine.images.service import ImageService
from cove.engine.networks.networking import ContainerNetworking
from cove.engine.networks.service import NetworkOps
from cove.engine.system import SystemService
from cove.util.forward import Forward


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

        self.query = services.containers.query  # ps and inspect

    @property
    def net(self) -> ContainerNetworking:
        """Networking as the containers see it (a fake in unit tests: assign it here)."""
        return self.container_service.net

    @net.setter
    def net(self, value: ContainerNetworking) -> None:
        self.container_service.net = value

    find = Forward("ctx", EngineContext.find)

    # --- daemon start ---------------------------------------------------------------------
    async def restore(self) -> None:
        """The containers (records reconciled with the runtime, leftovers of cut operations
        cleared), then the networks, then the restarts the policies ask for."""
        await self.container_service.restore()
        await self.networking.net_restore()
        await self.container_service.restarts.restart_on_boot()

    # --- the facade's operations, each the method of the service that owns it (typed from
    # it: mypy checks this table against EngineFacade, see ``as_facade``) ----------------
    # containers (the one-operation modules' functions take the service as ContainerSteps)
    container_create = Forward("container_service", ContainerService.container_create)
    container_start = Forward("container_service", ContainerService.container_start)
    container_stop = Forward("container_service", ContainerService.container_stop)
    container_restart = Forward("container_service", ContainerService.container_restart)
    container_kill = Forward("container_service", ContainerService.container_kill)
    container_remove = Forward("container_service", ContainerService.container_remove)
    container_wait = Forward("container_service", ContainerService.container_wait)
    container_logs = Forward("container_service", ContainerService.container_logs)
    container_attach = Forward("container_service", attach.container_attach)
    container_resize = Forward("container_service", ContainerService.container_resize)
    container_rename = Forward("container_service", ContainerService.container_rename)
    container_top = Forward("container_service", top.container_top)
    container_pause = Forward("container_service", pause.container_pause)
    container_unpause = Forward("container_service", pause.container_unpause)
    container_stats = Forward("container_service", stats.container_stats)
    container_update = Forward("container_service", update.container_update)
    containers_prune = Forward("container_service", prune.containers_prune)
    container_list = Forward("query", ContainerQuery.container_list)
    container_inspect = Forward("query", ContainerQuery.container_inspect)
    # volumes
    volume_create = Forward("volume_service", VolumeService.volume_create)
    volume_list = Forward("volume_service", VolumeService.volume_list)
    volume_inspect = Forward("volume_service", VolumeService.volume_inspect)
    volume_remove = Forward("volume_service", VolumeService.volume_remove)
    volume_prune = Forward("volume_service", VolumeService.volume_prune)
    # system
    version = Forward("system_service", SystemService.version)
    info = Forward("system_service", SystemService.info)
    system_df = Forward("system_service", SystemService.system_df)
    events = Forward("system_service", SystemService.events)
    # images
    image_list = Forward("image_service", ImageService.image_list)
    image_inspect = Forward("image_service", ImageService.image_inspect)
    image_history = Forward("image_service", ImageService.image_history)
    image_tag = Forward("image_service", ImageService.image_tag)
    image_remove = Forward("image_service", ImageService.image_remove)
    images_prune = Forward("image_service", ImageService.images_prune)
    image_import = Forward("image_service", ImageService.image_import)
    # exec
    exec_create = Forward("exec_service", ExecService.exec_create)
    exec_inspect = Forward("exec_service", ExecService.exec_inspect)
    exec_start = Forward("exec_service", ExecService.exec_start)
    exec_resize = Forward("exec_service", ExecService.exec_resize)
    # save, load, export; diff and commit (functions over the context)
    image_save = Forward("transfers", ExportOps.image_save)
    image_load = Forward("transfers", ExportOps.image_load)
    container_export = Forward("transfers", ExportOps.container_export)
    container_changes = Forward("ctx", diff_of)
    container_commit = Forward("ctx", commit.container_commit)
    # docker cp
    container_archive_stat = Forward("archive", ArchiveOps.container_archive_stat)
    container_archive_get = Forward("archive", ArchiveOps.container_archive_get)
    container_archive_put = Forward("archive", ArchiveOps.container_archive_put)
    # registries
    image_pull = Forward("registry", RegistryOps.image_pull)
    image_push = Forward("registry", RegistryOps.image_push)
    auth = Forward("registry", RegistryOps.auth)
    distribution_inspect = Forward("registry", RegistryOps.distribution_inspect)
    image_search = Forward("registry", RegistryOps.image_search)
    # networks
    network_list = Forward("networking", NetworkOps.network_list)
    network_inspect = Forward("networking", NetworkOps.network_inspect)
    network_create = Forward("networking", NetworkOps.network_create)
    network_remove = Forward("networking", NetworkOps.network_remove)
    network_prune = Forward("networking", NetworkOps.network_prune)
    network_connect = Forward("networking", NetworkOps.network_connect)
    network_disconnect = Forward("networking", NetworkOps.network_disconnect)
    container_remove_link = Forward("networking", NetworkOps.container_remove_link)
    net_shutdown = Forward("networking", NetworkOps.net_shutdown)


def as_facade(engine: Engine) -> EngineFacade:
    """The engine as the API sees it (what the daemon hands the server); here mypy checks
    that the table above has every member of the facade, with its signature."""
    return engine
