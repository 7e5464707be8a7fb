"""The OCI config of a container a rootless daemon runs (daemon/rootless.py).

The daemon is root only in its user namespace, so a few things the normal config asks for
are out of its reach, and the runtime would fail the container for them:

- cgroups: on a cgroup v1 host nothing is delegated to a user, so the runtime is told to
  use none (``--cgroup-manager=disabled``, crun's flag; as rootless Podman and Docker
  run there); resource limits were already refused or dropped with a warning at create;
- ``net.ipv4.ping_group_range``: the kernel takes only groups mapped in the writer's user
  namespace, and the default "0 2147483647" reaches past the user's ranges.  The mapped
  range is written instead, so ping still works for every user of the container.
"""

from __future__ import annotations

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


def adjust(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` made runnable by a rootless runtime (changed in place, and returned)."""
    linux = config.get("linux")
    if not isinstance(linux, dict):
        return config
    linux.pop("cgroupsPath", None)
    sysctl = linux.get("sysctl")
    if isinstance(sysctl, dict) and sysctl.get("net.ipv4.ping_group_range") == "0 2147483647":
        sysctl["net.ipv4.ping_group_range"] = f"0 {_mapped_gids() - 1}"
    return config
