"""The OCI config of a container a rootless daemon runs (daemon/rootless.py).

The daemon is root only in its user namespace, so a few things the normal config asks for
are out of its reach, and the runtime would fail the container for them:

- cgroups: on a cgroup v1 host nothing is delegated to a user, so the runtime is told to
  use none (``--cgroup-manager=disabled``, crun's flag; as rootless Podman and Docker
  run there); resource limits were already refused or dropped with a warning at create.
  On a cgroup v2 host that delegates a subtree to the user (runtime/rootless_cgroup.py)
  crun's cgroupfs manager puts the container under the daemon's cgroup, and only the
  limits of controllers that were not delegated are dropped;
- ``net.ipv4.ping_group_range``: the kernel takes only groups mapped in the writer's user
  namespace, and the default "0 2147483647" reaches past the user's ranges.  The mapped
  range is written instead, so ping still works for every user of the container;
- host devices (``--privileged``, ``--device``) are bind mounts in a user namespace, so
  only those its root can open are kept.
"""

from __future__ import annotations

import os
import stat
from typing import Any

RUNTIME_ARGS = ("--cgroup-manager=disabled",)  # crun; before the verb on every call
DELEGATED_ARGS = ("--cgroup-manager=cgroupfs",)  # with a delegated cgroup v2 subtree


def _mapped_gids() -> int:
    """How many group ids this (the daemon's) namespace maps."""
    total = 0
    try:
        with open("/proc/self/gid_map") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3:
                    total += int(parts[2])
    except (OSError, ValueError):
        return 1
    return max(total, 1)


def _reachable(path: str) -> bool:
    """A host device a user namespace can bind in: a real node (not a link such as
    /dev/stdin) that its root may open.  Others (--privileged lists every host device) are
    left out, as rootless Podman leaves them."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        return False
    return os.access(path, os.R_OK | os.W_OK)


def adjust(config: dict[str, Any], cgroup_base: str = "") -> dict[str, Any]:
    """``config`` made runnable by a rootless runtime (changed in place, and returned).
    ``cgroup_base``: the delegated cgroup the container goes under ("": none)."""
    linux = config.get("linux")
    if not isinstance(linux, dict):
        return config
    path = linux.pop("cgroupsPath", None)
    if cgroup_base and isinstance(path, str) and path:
        linux["cgroupsPath"] = f"{cgroup_base.rstrip('/')}/cove-{os.path.basename(path)}"
    resources = linux.get("resources")
    if isinstance(resources, dict):
        # device rules are an eBPF program on cgroup v2, which a user may not load; the
        # user namespace already keeps the container off every device it was not given
        resources.pop("devices", None)
    devices = linux.get("devices")
    if isinstance(devices, list):
        linux["devices"] = [d for d in devices if _reachable(str(d.get("path", "")))]
    sysctl = linux.get("sysctl")
    if isinstance(sysctl, dict) and sysctl.get("net.ipv4.ping_group_range") == "0 2147483647":
        sysctl["net.ipv4.ping_group_range"] = f"0 {_mapped_gids() - 1}"
    return config


# (HostConfig field, is it set?, dockerd's warning when the host cannot apply it): the words
# dockerd gives when its host facts show no cgroup controller, as a rootless dockerd's
# always do on a cgroup v1 host; the field is then discarded and the container still runs
_NO_CGROUP_WARNINGS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("Memory",), "Your kernel does not support memory limit capabilities or the cgroup is "
     "not mounted. Limitation discarded."),
    (("MemorySwappiness",), "Your kernel does not support memory swappiness capabilities or "
     "the cgroup is not mounted. Memory swappiness discarded."),
    (("MemoryReservation",), "Your kernel does not support memory soft limit capabilities or "
     "the cgroup is not mounted. Limitation discarded."),
    (("KernelMemory",), "Your kernel does not support kernel memory limit capabilities or the "
     "cgroup is not mounted. Limitation discarded."),
    (("OomKillDisable",), "Your kernel does not support OomKillDisable. OomKillDisable "
     "discarded."),
    (("PidsLimit",), "Your kernel does not support PIDs limit capabilities or the cgroup is "
     "not mounted. PIDs limit discarded."),
    (("CpuShares",), "Your kernel does not support CPU shares or the cgroup is not mounted. "
     "Shares discarded."),
    (("CpuPeriod", "CpuQuota"), "Your kernel does not support CPU CFS scheduler. CPU "
     "period/quota discarded."),
    (("CpusetCpus", "CpusetMems"), "Your kernel does not support cpuset or the cgroup is not "
     "mounted. Cpuset discarded."),
    (("BlkioWeight",), "Your kernel does not support Block I/O weight or the cgroup is not "
     "mounted. Weight discarded."),
    (("BlkioWeightDevice",), "Your kernel does not support Block I/O weight_device or the "
     "cgroup is not mounted. Weight-device discarded."),
    (("BlkioDeviceReadBps",), "Your kernel does not support BPS Block I/O read limit or the "
     "cgroup is not mounted. Block I/O BPS read limit discarded."),
    (("BlkioDeviceWriteBps",), "Your kernel does not support BPS Block I/O write limit or the "
     "cgroup is not mounted. Block I/O BPS write limit discarded."),
    (("BlkioDeviceReadIOps",), "Your kernel does not support IOPS Block read limit or the "
     "cgroup is not mounted. Block I/O IOPS read limit discarded."),
    (("BlkioDeviceWriteIOps",), "Your kernel does not support IOPS Block write limit or the "
     "cgroup is not mounted. Block I/O IOPS write limit discarded."),
)  # fmt: skip
# set-but-harmless values: dockerd warns only for a limit that would do something
_UNSET: tuple[object, ...] = (None, 0, "", [], False, -1)
# the cgroup v2 controller each field needs; a field not named here (swappiness, kernel
# memory, OomKillDisable) has no cgroup v2 form, and dockerd's v2 host facts say so
_CONTROLLER = {
    "Memory": "memory", "MemoryReservation": "memory", "PidsLimit": "pids",
    "CpuShares": "cpu", "CpuPeriod": "cpu", "CpuQuota": "cpu", "CpusetCpus": "cpuset",
    "CpusetMems": "cpuset", "BlkioWeight": "io", "BlkioWeightDevice": "io",
    "BlkioDeviceReadBps": "io", "BlkioDeviceWriteBps": "io", "BlkioDeviceReadIOps": "io",
    "BlkioDeviceWriteIOps": "io",
}  # fmt: skip


def discard_limits(hc: dict[str, Any], controllers: frozenset[str] = frozenset()) -> list[str]:
    """Drop the resource limits of HostConfig ``hc`` that no delegated cgroup controller
    can apply (all of them without cgroups: a rootless daemon on a cgroup v1 host), in
    place, and return dockerd's warnings, in its order.  ``--cpus`` without the cpu
    controller is an error, as with dockerd.  InvalidArgument for that."""
    from cove.errors import InvalidArgument

    if int(hc.get("NanoCpus") or 0) > 0 and "cpu" not in controllers:
        raise InvalidArgument(
            "NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or "
            "the cgroup is not mounted"
        )
    warnings = []
    for fields, words in _NO_CGROUP_WARNINGS:
        set_here = [
            f for f in fields if hc.get(f) not in _UNSET and _CONTROLLER.get(f) not in controllers
        ]
        if set_here:
            warnings.append(words)
        for f in set_here:
            value = hc[f]
            hc[f] = [] if isinstance(value, list) else "" if isinstance(value, str) else None
            if f in ("Memory", "MemoryReservation", "KernelMemory", "CpuShares", "CpuPeriod",
                     "CpuQuota", "BlkioWeight"):  # fmt: skip
                hc[f] = 0
    if "MemorySwap" in hc and not hc.get("Memory"):
        hc["MemorySwap"] = 0  # the swap default followed the memory limit, now gone
    return warnings


_INFO_KEYS = (("MemoryLimit", "memory"), ("SwapLimit", "memory"), ("CpuCfsPeriod", "cpu"),
              ("CpuCfsQuota", "cpu"), ("CPUShares", "cpu"), ("CPUSet", "cpuset"),
              ("PidsLimit", "pids"), ("OomKillDisable", ""))  # fmt: skip


def rootless_info(info: dict[str, Any], controllers: frozenset[str] = frozenset()) -> None:
    """``info`` as a rootless dockerd shows it: the limits its delegated controllers can
    apply; without any, no cgroup driver and its warning for the host's cgroup version."""
    for key, ctl in _INFO_KEYS:
        info[key] = bool(ctl) and ctl in controllers
    if controllers:
        info["CgroupDriver"] = "cgroupfs"
        return
    info["CgroupDriver"] = "none"
    if str(info.get("CgroupVersion")) == "2":
        how = "Systemd is required to enable cgroups in rootless-mode."
    else:
        how = "To enable cgroups in rootless-mode, you need to boot the system in cgroup v2 mode."
    warning = f"WARNING: Running in rootless-mode without cgroups. {how}"
    info["Warnings"] = [*(info.get("Warnings") or []), warning]
