"""``container create``: merge the request with the image's config and lay out the container.

Contract: on any error nothing is left (no record, no name, no snapshot).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from typing import Protocol

from cove.engine import logs
from cove.engine.containers import names, security, userns
from cove.engine.containers.resources import check_host_config
from cove.engine.containers.spec import check_modes
from cove.engine.context import EngineContext
from cove.engine.fs.mounts import public as public_mounts
from cove.engine.fs.volumes import VolumeService
from cove.engine.networks.links import record_links, user_defined
from cove.engine.networks.networking import ContainerNetworking
from cove.engine.record import Container
from cove.engine.state import initial_state
from cove.errors import Conflict, InvalidArgument, NotFound
from cove.image.base import Image
from cove.logdriver import files as log_files
from cove.logdriver import options as log_options
from cove.oci import reference
from cove.runtime.rootless import discard_limits
from cove.snapshot.base import Mount
from cove.snapshot.mount import FUSE_OVERLAY
from cove.util import crashpoint
from cove.util.ids import new_id
from cove.util.jsontypes import Json
from cove.util.timefmt import now_rfc3339

_CONFIG_KEYS = (
    "Hostname",
    "Domainname",
    "User",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "ExposedPorts",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "Env",
    "Cmd",
    "Healthcheck",
    "ArgsEscaped",
    "Image",
    "Volumes",
    "WorkingDir",
    "Entrypoint",
    "NetworkDisabled",
    "MacAddress",
    "OnBuild",
    "Labels",
    "StopSignal",
    "StopTimeout",
    "Shell",
)


def _env_key(e: str) -> str:
    return e.split("=", 1)[0]


def merge_env(image_env: list[str], user_env: list[str]) -> list[str]:
    """Image variables first, the user's replace same-named ones (Docker's order)."""
    out: dict[str, str] = {}
    for e in [*image_env, *user_env]:
        out[_env_key(e)] = e
    return list(out.values())


def merge_config(body: Json, image: Image, cid: str) -> Json:
    ic: Json = image.config.get("config") or {}
    cfg: Json = {k: body.get(k) for k in _CONFIG_KEYS}
    cfg["Env"] = merge_env(ic.get("Env") or [], body.get("Env") or [])
    user_ep = body.get("Entrypoint")
    if user_ep is not None:
        # an entrypoint given by the user also replaces the image's default arguments
        cfg["Entrypoint"] = user_ep if user_ep != [""] else None
        cfg["Cmd"] = body.get("Cmd") or None
    else:
        cfg["Entrypoint"] = ic.get("Entrypoint")
        cfg["Cmd"] = body.get("Cmd") or ic.get("Cmd")
    for key in ("WorkingDir", "User", "StopSignal", "Shell", "Healthcheck", "OnBuild"):
        if not cfg.get(key) and ic.get(key):
            cfg[key] = ic[key]
    for key in ("ExposedPorts", "Volumes", "Labels"):
        merged = dict(ic.get(key) or {})
        merged.update(body.get(key) or {})
        cfg[key] = merged or None
    cfg["Hostname"] = body.get("Hostname") or cid[:12]
    cfg["Domainname"] = body.get("Domainname") or ""
    cfg["User"] = cfg.get("User") or ""
    cfg["WorkingDir"] = cfg.get("WorkingDir") or ""
    for key in ("AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"):
        cfg[key] = bool(cfg.get(key))
    if cfg["WorkingDir"] and not cfg["WorkingDir"].startswith("/"):
        raise InvalidArgument(
            f"the working directory '{cfg['WorkingDir']}' is invalid, it needs to be an "
            "absolute path"
        )
    return cfg


def default_host_config(hc: Json | None) -> Json:
    hc = dict(hc or {})
    hc.setdefault("NetworkMode", "default")
    if not hc.get("NetworkMode"):
        hc["NetworkMode"] = "default"
    hc.setdefault("RestartPolicy", {"Name": "no", "MaximumRetryCount": 0})
    if not hc["RestartPolicy"] or not hc["RestartPolicy"].get("Name"):
        hc["RestartPolicy"] = {"Name": "no", "MaximumRetryCount": 0}
    hc.setdefault("AutoRemove", False)
    for key in ("Binds", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "CapAdd", "CapDrop"):
        hc.setdefault(key, None)
    hc.setdefault("Privileged", False)
    hc.setdefault("ReadonlyRootfs", False)
    hc.setdefault("PortBindings", {})
    hc.setdefault("PublishAllPorts", False)
    hc.setdefault("IpcMode", "private")
    hc.setdefault("PidMode", "")
    hc.setdefault("UTSMode", "")
    hc.setdefault("ShmSize", 67108864)
    hc.setdefault("Runtime", "")
    return hc


class CreateHost(Protocol):
    """What create needs of the container service that holds it: its networking (set by
    the engine once the network service is built, a fake in tests) and its volume side."""

    net: ContainerNetworking
    volume_service: VolumeService


class ContainerCreator:
    """``container create``, a part the container service holds (``creator``): built from
    the shared context (stores, runtime, options, host facts, the container and name tables,
    lookup and events) and its holder (networking and volumes)."""

    def __init__(self, ctx: EngineContext, holder: CreateHost) -> None:
        self.images = ctx.images
        self.snapshotter = ctx.snapshotter
        self.runtime = ctx.runtime
        self.paths = ctx.paths
        self.options = ctx.options
        self.host = ctx.host
        self.containers = ctx.containers
        self.names = ctx.names
        self.find = ctx.find
        self.emit = ctx.emit
        self._holder = holder

    @property
    def net(self) -> ContainerNetworking:
        return self._holder.net

    @property
    def volume_service(self) -> VolumeService:
        return self._holder.volume_service

    async def container_create(self, name: str | None, body: Json) -> tuple[str, list[str]]:
        image_ref = body.get("Image") or ""
        if not image_ref:
            raise InvalidArgument("no image specified")
        try:
            image = self.images.resolve(image_ref)
        except NotFound:
            shown = image_ref
            try:
                r = reference.parse(image_ref)
                shown = r.familiar()
            except InvalidArgument:
                pass
            raise NotFound(f"No such image: {shown}") from None
        hc = default_host_config(body.get("HostConfig"))
        # the daemon's log-driver and log-opts fill in, as dockerd does (docs/logging.md)
        hc["LogConfig"] = log_options.container_config(
            hc.get("LogConfig"), self.options.log_driver, self.options.log_opts
        )
        warnings = check_host_config(hc, self.host.rlimits or None)
        if self.options.net.rootless:  # no cgroups reach a rootless daemon (runtime/rootless.py)
            warnings += discard_limits(hc, frozenset(self.options.net.cgroup_controllers))
        log_files.check_available(log_options.plan(hc["LogConfig"]))
        apparmor = security.check(hc, self.options.seccomp_profile)
        check_modes(hc)  # IPC and cgroup namespace modes; the latter's default named
        userns.check(hc, self.options.userns)
        # the OCI runtime is named in the record, as dockerd names "runc" when none is asked
        hc["Runtime"] = str(hc.get("Runtime") or self.runtime.name)
        if hc["Runtime"] not in self.runtime.paths:  # the default's name is one of them
            raise InvalidArgument(f"unknown or invalid runtime name: {hc['Runtime']}")
        try:
            # validates the mode
            net_settings, net_warnings = self.net.net_create_settings(hc, body)
        except NotFound as e:
            # only a missing image may be a 404 on create: the docker CLI pulls on any 404
            # (dockerd creates the container and fails its start with these words)
            raise InvalidArgument(e.message) from None
        for mode in (str(hc.get("IpcMode") or ""), str(hc.get("PidMode") or "")):
            if mode.startswith("container:"):
                try:
                    self.find(mode.split(":", 1)[1])
                except NotFound as e:
                    raise InvalidArgument(e.message) from None  # dockerd's 400
        warnings = [*warnings, *net_warnings]
        if name:
            name = names.validate(name)
            if name in self.names:
                other = self.names[name]
                raise Conflict(
                    f'Conflict. The container name "/{name}" is already in use by container '
                    f'"{other}". You have to remove (or rename) that container to be able to '
                    "reuse that name."
                )
        else:
            name = names.generate(set(self.names))
        record_links(hc, name, user_defined(hc), lambda ref: self.find(ref).name)
        cid = new_id()
        cfg = merge_config(body, image, cid)
        argv = (cfg.get("Entrypoint") or []) + (cfg.get("Cmd") or [])
        if not argv:
            raise InvalidArgument("No command specified")
        self.names[name] = cid  # reserve the name before the first await
        cdir = self.paths.container_dir(cid)
        try:
            os.makedirs(cdir, mode=0o700)
            crashpoint.reached("create:dir")
            # the native driver copies the image's files here: off the event loop
            graph = await asyncio.to_thread(self._prepare_snapshot, cid, image.top_layer)
            crashpoint.reached("create:snapshot")
            points = self.volume_service.volumes_setup(cid, hc, cfg)
            if self.volume_service.copy_up_needed(points):
                await asyncio.to_thread(self.volume_service.volumes_copy_up, cid, points)
            crashpoint.reached("create:volumes")
            data: Json = {
                "Id": cid,
                "Created": now_rfc3339(),
                "Path": argv[0],
                "Args": argv[1:],
                "State": initial_state(),
                "Image": image.id,
                "ResolvConfPath": os.path.join(cdir, "resolv.conf"),
                "HostnamePath": os.path.join(cdir, "hostname"),
                "HostsPath": os.path.join(cdir, "hosts"),
                "LogPath": logs.new_log_path(
                    self.paths.container_dir(cid), cid, log_options.plan(hc["LogConfig"])
                ),
                "Name": "/" + name,
                "RestartCount": 0,
                "Driver": self.snapshotter.name,
                "Platform": "linux",
                "MountLabel": "",
                "ProcessLabel": "",
                "AppArmorProfile": apparmor,
                "ExecIDs": None,
                "HostConfig": hc,
                "GraphDriver": {"Name": self.snapshotter.name, "Data": graph},
                "Mounts": public_mounts(points),
                "Config": cfg,
                "NetworkSettings": net_settings,
            }
            c = Container(data, cdir)
            c.mount_points = points
            c.save()
            crashpoint.reached("create:saved")
        except BaseException:
            self.names.pop(name, None)
            self.volume_service.volumes_abort(cid)
            try:
                self.snapshotter.remove(cid)
            except Exception:
                pass
            shutil.rmtree(cdir, ignore_errors=True)
            raise
        self.containers[cid] = c
        self.volume_service.volumes_created(cid)
        self.emit(c, "create")
        return cid, warnings

    def _prepare_snapshot(self, cid: str, top_layer: str | None) -> Json | None:
        """The container's snapshot, and the GraphDriver.Data inspect shows for it."""
        return graph_driver_data(self.snapshotter.prepare(cid, top_layer), self.paths.rootfs(cid))


def graph_driver_data(mounts: list[Mount], merged: str) -> Json | None:
    """overlay2's (and fuse-overlayfs's) directories as dockerd lists them (tools read
    MergedDir and UpperDir from inspect); null for the copy-based driver, as dockerd's vfs."""
    for m in mounts:
        if m.type in ("overlay", FUSE_OVERLAY):
            opts = dict(o.split("=", 1) for o in m.options if "=" in o)
            return {
                "LowerDir": opts.get("lowerdir", ""),
                "MergedDir": merged,
                "UpperDir": opts.get("upperdir", ""),
                "WorkDir": opts.get("workdir", ""),
            }
    return None
