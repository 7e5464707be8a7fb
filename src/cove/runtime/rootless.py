"""The OCI config of a container a rootless daemon runs (daemon/rootless.py).

The daemon is root only in its user namespace, so a few things the normal config asks for
are out of its reach, and the runtime would fail the container for them:

- cgroups: on a cgroup v1 host nothing is delegated to a user, so the runtime is told to
  use none (``--cgroup-manager=disabled``, crun's flag; as rootless Podman and Docker
  run there); resource limits were already refused or dropped with a warning at create;
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


def adjust(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` made runnable by a rootless runtime (changed in place, and returned)."""
    linux = config.get("linux")
    if not isinstance(linux, dict):
        return config
    linux.pop("cgroupsPath", None)
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


def discard_limits(hc: dict[str, Any]) -> list[str]:
    """Without cgroups (a rootless daemon on a cgroup v1 host): drop the resource limits of
    HostConfig ``hc`` in place and return dockerd's warnings, in its order.  ``--cpus`` is
    an error there, as with dockerd.  InvalidArgument for that."""
    from cove.errors import InvalidArgument

    if int(hc.get("NanoCpus") or 0) > 0:
        raise InvalidArgument(
            "NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or "
            "the cgroup is not mounted"
        )
    warnings = []
    for fields, words in _NO_CGROUP_WARNINGS:
        set_here = [f for f in fields if hc.get(f) not in _UNSET]
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


def rootless_info(info: dict[str, Any]) -> None:
    """``info`` as a rootless dockerd shows it: no cgroup driver, no limit it could apply,
    and its warning (the cgroup v1 wording: this daemon never has cgroups)."""
    info["CgroupDriver"] = "none"
    for key in ("MemoryLimit", "SwapLimit", "CpuCfsPeriod", "CpuCfsQuota", "CPUShares",
                "CPUSet", "PidsLimit", "OomKillDisable"):  # fmt: skip
        info[key] = False
    warning = (
        "WARNING: Running in rootless-mode without cgroups. To enable cgroups in "
        "rootless-mode, you need to boot the system in cgroup v2 mode."
    )
    info["Warnings"] = [*(info.get("Warnings") or []), warning]
