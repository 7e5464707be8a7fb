"""``version``, ``info``, ``system df`` and ``events``: what the daemon reports about itself
and the host."""

from __future__ import annotations

import os
import platform
import socket
import sys
from collections.abc import AsyncIterator, Callable

import cove
from cove.engine.context import EngineContext
from cove.engine.fs.volumes import VolumeService
from cove.engine.images.service import ImageService
from cove.engine.state import Status
from cove.runtime.rootless import rootless_info
from cove.util.jsontypes import Json
from cove.util.timefmt import now_rfc3339

API_VERSION = "1.44"
MIN_API_VERSION = "1.24"
_GOARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def _meminfo_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# the container operations' ``container_list`` (all, limit, size, filters), for df
ListContainers = Callable[[bool, int, bool, dict[str, list[str]]], list[Json]]


class SystemService:
    """The daemon's reports, held by the engine (``engine.system``): built from the shared
    context (options, runtime, paths, stores, container table, event bus), the image and
    volume services and the container list, for ``df``."""

    def __init__(
        self,
        ctx: EngineContext,
        images: ImageService,
        volumes: VolumeService,
        list_containers: ListContainers,
    ) -> None:
        self.options = ctx.options
        self.runtime = ctx.runtime
        self.paths = ctx.paths
        self.images = ctx.images
        self.snapshotter = ctx.snapshotter
        self.containers = ctx.containers
        self.bus = ctx.bus
        self.image_service = images
        self.volume_service = volumes
        self.list_containers = list_containers

    def version(self) -> Json:
        u = os.uname()
        return {
            "Platform": {"Name": "cove"},
            "Components": [
                {
                    "Name": "Engine",
                    "Version": cove.__version__,
                    "Details": {
                        "ApiVersion": API_VERSION,
                        "MinAPIVersion": MIN_API_VERSION,
                        "Os": "linux",
                        "Arch": _GOARCH.get(u.machine, u.machine),
                        "KernelVersion": u.release,
                        "Python": sys.version.split()[0],
                    },
                },
                {
                    "Name": self.options.runtime_name,
                    "Version": self.options.runtime_name,
                    "Details": {},
                },
            ],
            "Version": cove.__version__,
            "ApiVersion": API_VERSION,
            "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": "",
            "GoVersion": "python" + platform.python_version(),
            "Os": "linux",
            "Arch": _GOARCH.get(u.machine, u.machine),
            "KernelVersion": u.release,
            "BuildTime": "",
        }

    def _runtimes(self) -> Json:
        """``info``'s Runtimes: every OCI runtime a container may name, with its path."""
        return {name: {"path": path} for name, path in sorted(self.runtime.paths.items())}

    def _security_options(self) -> list[str]:
        """As dockerd lists them: the seccomp profile containers get by default (its
        path when one was given), then no-new-privileges when the daemon sets it."""
        profile = self.options.seccomp_profile_path or self.options.seccomp_profile
        out = [f"name=seccomp,profile={profile}"]
        if self.options.no_new_privileges:
            out.append("name=no-new-privileges")
        if self.options.userns is not None:
            out.append("name=userns")
        if self.options.net.rootless:
            out.append("name=rootless")
        return out

    def info(self) -> Json:
        states = [c.status for c in self.containers.values()]
        u = os.uname()
        out: Json = {
            "ID": "",
            "Containers": len(states),
            "ContainersRunning": states.count(Status.RUNNING),
            "ContainersPaused": states.count(Status.PAUSED),
            "ContainersStopped": len(states)
            - states.count(Status.RUNNING)
            - states.count(Status.PAUSED),
            "Images": len(self.images.list()),
            "Driver": self.snapshotter.name,
            "DriverStatus": [["Backing Filesystem", "extfs"]],
            "Plugins": {
                "Volume": ["local"],
                "Network": ["host", "null"],
                "Authorization": None,
                "Log": ["json-file"],
            },
            "MemoryLimit": True,
            "SwapLimit": False,
            "CpuCfsPeriod": True,
            "CpuCfsQuota": True,
            "CPUShares": True,
            "CPUSet": True,
            "PidsLimit": True,
            "IPv4Forwarding": True,
            "BridgeNfIptables": False,
            "BridgeNfIp6tables": False,
            "Debug": self.options.debug,
            "NFd": len(os.listdir("/proc/self/fd")),
            "OomKillDisable": False,
            "NGoroutines": 0,
            "SystemTime": now_rfc3339(),
            "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs",
            "CgroupVersion": _cgroup_version(),
            "NEventsListener": 0,
            "KernelVersion": u.release,
            "OperatingSystem": _os_name(),
            "OSVersion": "",
            "OSType": "linux",
            "Architecture": u.machine,
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {
                "AllowNondistributableArtifactsCIDRs": None,
                "AllowNondistributableArtifactsHostnames": None,
                "InsecureRegistryCIDRs": ["127.0.0.0/8"],
                "IndexConfigs": {},
                "Mirrors": self.options.registry_mirrors,
            },
            "NCPU": os.cpu_count() or 1,
            "MemTotal": _meminfo_total(),
            "GenericResources": None,
            "DockerRootDir": self.paths.data_root,
            "HttpProxy": "",
            "HttpsProxy": "",
            "NoProxy": "",
            "Name": socket.gethostname(),
            "Labels": [],
            "ExperimentalBuild": False,
            "ServerVersion": cove.__version__,
            "Runtimes": self._runtimes(),
            "DefaultRuntime": self.options.runtime_name,
            "Swarm": {
                "NodeID": "",
                "NodeAddr": "",
                "LocalNodeState": "inactive",
                "ControlAvailable": False,
                "Error": "",
                "RemoteManagers": None,
            },
            "LiveRestoreEnabled": True,
            "Isolation": "",
            "InitBinary": "",
            "ContainerdCommit": {"ID": ""},
            "RuncCommit": {"ID": ""},
            "InitCommit": {"ID": ""},
            "SecurityOptions": self._security_options(),
            "Warnings": None,
        }
        if self.options.net.rootless:
            rootless_info(out, frozenset(self.options.net.cgroup_controllers))
        return out

    def system_df(self) -> Json:
        layers_size, images = self.image_service.df_images()
        containers = self.list_containers(True, 0, True, {})
        for j in containers:
            j.setdefault("SizeRw", 0)
            j.setdefault("SizeRootFs", 0)
        volumes: list[Json] = []
        try:
            volumes = list((self.volume_service.volume_list({}) or {}).get("Volumes") or [])
        except Exception:  # df still answers without volumes (none without a driver)
            volumes = []
        return {
            "LayersSize": layers_size,
            "Images": images,
            "Containers": containers,
            "Volumes": volumes,
            "BuildCache": [],
        }

    def events(
        self, since: float | None, until: float | None, filters: dict[str, list[str]]
    ) -> AsyncIterator[Json]:
        return self.bus.stream(since, until, filters)


def _cgroup_version() -> str:
    from cove.engine.containers.cgroupread import unified

    return "2" if unified() else "1"


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"
