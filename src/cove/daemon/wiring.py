"""The composition root: the one place where concrete stores and drivers are chosen."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Any

from cove.daemon import settings
from cove.daemon.config import DaemonConfig
from cove.engine.assemble import assemble
from cove.engine.containers.security import daemon_profile
from cove.engine.context import EngineContext, EngineOptions, HostInfo, Paths
from cove.engine.core import Engine
from cove.errors import InvalidArgument
from cove.image.local import LocalImageStore
from cove.logdriver import options as log_options
from cove.network.base import NetOptions
from cove.runtime.conmon import ConmonRuntime
from cove.runtime.host import prepare_host
from cove.snapshot.base import Snapshotter
from cove.snapshot.common import DirSnapshotter
from cove.snapshot.select import choose_snapshotter
from cove.store.local import LocalBlobStore
from cove.util.idmap import IdMap
from cove.volume.local import LocalVolumeDriver

if TYPE_CHECKING:  # a rootful daemon never imports the rootless side (see _rootless_net)
    from cove.daemon.rootless import Session

_RUNTIMES = {"crun": "/usr/bin/crun", "runc": "/usr/sbin/runc"}


def _runtime_path(cfg: DaemonConfig) -> str:
    name = cfg.default_runtime
    spec = cfg.runtimes.get(name)
    if isinstance(spec, dict) and spec.get("path"):
        return str(spec["path"])
    path = shutil.which(name) or _RUNTIMES.get(name)
    if not path or not os.path.exists(path):
        raise InvalidArgument(f"default runtime {name!r} not found (is it installed?)")
    return path


def _other_runtimes(cfg: DaemonConfig) -> dict[str, str]:
    """Every runtime a container may name with ``--runtime``: crun and runc when installed,
    and those of ``runtimes`` in daemon.json (``{"name": {"path": ...}}``)."""
    out = {}
    for name, default in _RUNTIMES.items():
        path = shutil.which(name) or default
        if os.path.exists(path):
            out[name] = path
    for name, spec in cfg.runtimes.items():
        if isinstance(spec, dict) and spec.get("path"):
            out[str(name)] = str(spec["path"])
    return out


def _snapshotter(cfg: DaemonConfig) -> Snapshotter:
    return choose_snapshotter(cfg.storage_driver, cfg.data_root)  # tiers: snapshot/select.py


def _refuse_unused(cfg: DaemonConfig) -> None:
    """Settings dockerd has and cove accepts but cannot honour are refused, never dropped:
    an empty ``storage-opts``, ``live-restore: true`` and ``userland-proxy: false`` load as
    in dockerd's files."""
    if cfg.storage_opts:
        raise InvalidArgument(
            f"storage-opts {', '.join(cfg.storage_opts)}: cove's storage drivers take no options"
        )
    if cfg.live_restore is False:
        raise InvalidArgument(
            "live-restore cannot be turned off: cove's containers are held by their own "
            "monitor process and always keep running while coved is stopped"
        )
    if cfg.userland_proxy:
        raise InvalidArgument(
            "userland-proxy cannot be turned on: cove publishes ports with kernel NAT only "
            "(set it to false or leave it out)"
        )


def _rootless_net(session: Session | None) -> dict[str, Any]:
    if session is None:
        return {}
    from cove.daemon.rootless import rootless_net

    return rootless_net(session)


def build_engine(
    cfg: DaemonConfig, idmap: IdMap | None = None, session: Session | None = None
) -> Engine:
    """``idmap``: userns-remap's map (daemon/userns.py; ``cfg.data_root`` is already the
    map's own directory then).  ``session``: a rootless daemon's (daemon/rootless.py)."""
    _refuse_unused(cfg)
    facts = prepare_host(_runtime_path(cfg))
    os.makedirs(cfg.data_root, mode=0o711, exist_ok=True)
    os.makedirs(cfg.exec_root, mode=0o700, exist_ok=True)
    snap = _snapshotter(cfg)
    if idmap is not None:
        if not isinstance(snap, DirSnapshotter):
            raise InvalidArgument(f"userns-remap is not supported by storage driver {snap.name}")
        snap.idmap = idmap
    blobs = LocalBlobStore(cfg.data_root)
    images = LocalImageStore(cfg.data_root, blobs, snap)
    runtime = ConmonRuntime(
        runtime_path=_runtime_path(cfg),
        state_root=os.path.join(cfg.exec_root, "runtime"),
        exec_root=cfg.exec_root,
        others=_other_runtimes(cfg),
        name=cfg.default_runtime,
    )
    runtime.rootless = session is not None
    runtime.rootless_cgroup = session.cgroup.base if session and session.cgroup else ""
    host = HostInfo(
        bounding_caps=frozenset(facts.bounding_caps),
        rlimits=dict(facts.rlimits),
    )
    profile, profile_path = daemon_profile(cfg.seccomp_profile)
    # a daemon.json log-driver or log-opts dockerd would refuse stops coved at start
    log_options.plan({"Type": cfg.log_driver or "json-file", "Config": dict(cfg.log_opts or {})})
    # the settings declared to go to the engine (or its network) are copied by name; the
    # rest are what this module makes of the settings it reads itself
    opts = EngineOptions(
        **settings.copied(cfg, settings.ENGINE),
        runtime_name=cfg.default_runtime,
        storage_driver=snap.name,
        seccomp_profile=profile,
        seccomp_profile_path=profile_path,
        userns=idmap,
        log_driver=cfg.log_driver or "json-file",
        net=NetOptions(**settings.copied(cfg, settings.NET), **_rootless_net(session)),
    )
    volumes = LocalVolumeDriver(os.path.join(cfg.data_root, "volumes"))
    volumes.owner = idmap.root if idmap is not None else None
    # the context the engine's services share; they are built over it (engine/assemble.py,
    # shared with cove.testing's engine) and handed to the facade
    ctx = EngineContext(Paths(cfg.data_root, cfg.exec_root), images, snap, runtime, host, opts)
    return assemble(ctx, volumes)
