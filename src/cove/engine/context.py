"""What the engine's services share, built once by the composition root (daemon/wiring.py).

The paths, the stores and the runtime picked for this daemon, its options, the event bus, and
the container table with its per-container locks.  Each service (containers, images, volumes,
exec, system, networks) is handed this context, or the few of its parts it needs, instead of
inheriting them from a common base class.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field

from cove.engine.events import EventBus
from cove.engine.record import Container
from cove.errors import no_such_container
from cove.image.base import ImageStore
from cove.network.base import NetOptions
from cove.runtime.base import Runtime
from cove.snapshot.base import Snapshotter
from cove.util.idmap import IdMap


@dataclass(frozen=True)
class Paths:
    data_root: str
    exec_root: str

    def container_dir(self, cid: str) -> str:
        return os.path.join(self.data_root, "containers", cid)

    def rootfs(self, cid: str) -> str:
        return os.path.join(self.container_dir(cid), "rootfs")

    def log_path(self, cid: str) -> str:
        return os.path.join(self.container_dir(cid), "container.log")

    def bundle(self, cid: str) -> str:
        return os.path.join(self.exec_root, "containers", cid)

    @property
    def tmp(self) -> str:
        return os.path.join(self.data_root, "tmp")


@dataclass
class HostInfo:
    """Facts about the host the spec builder clamps to (see runtime.host)."""

    bounding_caps: frozenset[str] = frozenset()
    rlimits: dict[str, int] = field(default_factory=dict)  # ceilings by OCI name


@dataclass
class EngineOptions:
    runtime_name: str = "crun"
    storage_driver: str = "overlay2"
    debug: bool = False
    registry_mirrors: list[str] = field(default_factory=list)
    insecure_registries: list[str] = field(default_factory=list)
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_opts: list[str] = field(default_factory=list)  # daemon.json dns-opts
    net: NetOptions = field(default_factory=NetOptions)
    log_driver: str = "json-file"  # daemon.json log-driver / log-opts: every container's default
    log_opts: dict[str, str] = field(default_factory=dict)
    # the daemon's seccomp-profile: "builtin", "unconfined" or a profile's JSON text
    seccomp_profile: str = "builtin"
    seccomp_profile_path: str = ""  # the file the JSON came from, for info
    no_new_privileges: bool = False
    userns: IdMap | None = None  # userns-remap: the daemon's map (containers/userns.py)


class EngineContext:
    """The shared state: one per daemon.  ``containers`` and ``names`` are the one container
    table (every service sees the same dicts); a container's lock is taken for any change to
    its record."""

    def __init__(
        self,
        paths: Paths,
        images: ImageStore,
        snapshotter: Snapshotter,
        runtime: Runtime,
        host: HostInfo,
        options: EngineOptions,
    ) -> None:
        self.paths = paths
        self.images = images
        self.snapshotter = snapshotter
        self.runtime = runtime
        self.host = host
        self.options = options
        self.bus = EventBus()
        self.containers: dict[str, Container] = {}
        self.names: dict[str, str] = {}  # name -> id
        self.locks: dict[str, asyncio.Lock] = {}
        self.started_at = time.time()

    def lock(self, cid: str) -> asyncio.Lock:
        return self.locks.setdefault(cid, asyncio.Lock())

    def find(self, ref: str) -> Container:
        """By full ID, exact name (with or without /), or unique ID prefix, as Docker."""
        c = self.containers.get(ref)
        if c is not None:
            return c
        cid = self.names.get(ref.lstrip("/"))
        if cid is not None:
            return self.containers[cid]
        if ref:
            hits = [c for k, c in self.containers.items() if k.startswith(ref)]
            if len(hits) == 1:
                return hits[0]
        raise no_such_container(ref)

    def emit(self, c: Container, action: str, extra: dict[str, str] | None = None) -> None:
        attrs = {"name": c.name, "image": str(c.config.get("Image", ""))}
        attrs.update({k: str(v) for k, v in (c.config.get("Labels") or {}).items()})
        if extra:
            attrs.update(extra)
        self.bus.emit("container", action, c.id, attrs)
