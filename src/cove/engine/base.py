"""The container operations' base: the shared context's parts as attributes, and its lookups.

The context (engine/context.py) is built by the daemon's wiring (the composition root) and
handed in; the container operations read the stores, the runtime and the container table
through it, and only know their Protocols.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from cove.engine.context import EngineContext, EngineOptions, HostInfo, Paths
from cove.engine.fs.volumes import VolumeService
from cove.engine.networks.networking import ContainerNetworking, NoNetworking
from cove.engine.record import Container

# the context's records, importable from here as before the context existed
__all__ = ["EngineBase", "EngineOptions", "HostInfo", "Paths"]


class ContainerExecs(Protocol):
    """What the container operations ask of the exec service (containers/execs.py)."""

    def exec_ids(self, cid: str) -> list[str]: ...

    def container_exited(self, cid: str) -> None:
        """The container stopped: its exec instances go (as dockerd forgets them)."""


class EngineBase:
    # services the engine that composes this sets after building them
    volume_service: VolumeService
    exec_service: ContainerExecs

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        # the context's parts by name: the same objects (one container table, one bus)
        self.paths = ctx.paths
        self.images = ctx.images
        self.snapshotter = ctx.snapshotter
        self.runtime = ctx.runtime
        self.host = ctx.host
        self.options = ctx.options
        self.bus = ctx.bus
        self.containers = ctx.containers
        self.names = ctx.names
        self.started_at = ctx.started_at
        # networking as the containers see it: none until the engine hands it the network
        # service (engine/networks/service.py), a fake in unit tests
        self.net: ContainerNetworking = NoNetworking()

    def lock(self, cid: str) -> asyncio.Lock:
        return self.ctx.lock(cid)

    def find(self, ref: str) -> Container:
        return self.ctx.find(ref)

    def emit(self, c: Container, action: str, extra: dict[str, str] | None = None) -> None:
        self.ctx.emit(c, action, extra)
