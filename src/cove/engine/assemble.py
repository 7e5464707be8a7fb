"""The engine's services built over one shared context: the part of the composition root
that the daemon (daemon/wiring.py, which picks the drivers and builds the context) and the
unit tests' engine (cove.testing, over the fakes) share, so that both build the same object
graph and neither depends on the other.

Each service is handed what it needs, in an order written out here:

- the volume service holds the volume driver; the container service uses it for mounts;
- the container service holds create, exec, restart policies and health checks;
- the image service; the system service reads the image and volume services and the
  container list;
- the network service is built over the context (its NetworkHost) and handed to the
  container service as its ContainerNetworking;
- the registry client, docker cp (over the volume service) and save/load/export.

Nothing here chooses an implementation: what varies (stores, snapshotter, runtime, volume
driver) comes in with the context and ``volumes``.
"""

from __future__ import annotations

from cove.engine.containers.service import ContainerService
from cove.engine.context import EngineContext
from cove.engine.core import Engine, Services
from cove.engine.fs.archive import ArchiveOps
from cove.engine.fs.volumes import VolumeService
from cove.engine.images.export import ExportOps
from cove.engine.images.registry_ops import RegistryOps
from cove.engine.images.service import ImageService
from cove.engine.networks.service import NetworkOps
from cove.engine.system import SystemService
from cove.volume.base import VolumeDriver


def build_services(ctx: EngineContext, volumes: VolumeDriver | None = None) -> Services:
    volume_service = VolumeService(ctx, volumes)
    containers = ContainerService(ctx, volume_service)
    images = ImageService(ctx)
    networking = NetworkOps(ctx)
    containers.net = networking  # containers reach the network service as ContainerNetworking
    return Services(
        containers=containers,
        volumes=volume_service,
        images=images,
        system=SystemService(ctx, images, volume_service, containers.query.container_list),
        networking=networking,
        registry=RegistryOps(ctx.images, ctx.options, ctx.paths, ctx.bus),
        archive=ArchiveOps(ctx, volume_service),
        transfers=ExportOps(ctx),
    )


def assemble(ctx: EngineContext, volumes: VolumeDriver | None = None) -> Engine:
    """The facade over the services built from ``ctx`` and the volume driver."""
    return Engine(ctx, build_services(ctx, volumes))
