"""Containers under ``userns-remap``: which get a user namespace, and what it changes.

Every container gets a user namespace with the daemon's map unless it asks for
``--userns=host``; its root is then an unprivileged host user, which is what makes a
container's root harmless outside it (the host keyring, other namespaces' objects).
dockerd's rules for what cannot be combined with that are kept, with its words.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from cove.errors import InvalidArgument
from cove.util.idmap import IdMap
from cove.util.jsontypes import Json

# sysctls cove sets by default that live in the network namespace: it is created by the
# daemon, outside the container's user namespace, whose root may not write them
_DEFAULT_NET_SYSCTLS = ("net.ipv4.ip_unprivileged_port_start", "net.ipv4.ping_group_range")


def check(hc: Mapping[str, Any], idmap: IdMap | None) -> None:
    """Refuse what dockerd refuses, before anything is created."""
    mode = str(hc.get("UsernsMode") or "")
    if mode not in ("", "host"):
        raise InvalidArgument(f"invalid USER mode: {mode}")
    if idmap is None or mode == "host":
        return
    if hc.get("Privileged"):
        raise InvalidArgument(
            "privileged mode is incompatible with user namespaces.  You must run the "
            "container in the host namespace when running privileged mode"
        )
    if hc.get("NetworkMode") == "host":
        raise InvalidArgument(
            "cannot share the host's network namespace when user namespaces are enabled"
        )
    if hc.get("PidMode") == "host":
        raise InvalidArgument(
            "cannot share the host PID namespace when user namespaces are enabled"
        )


def for_container(hc: Mapping[str, Any], idmap: IdMap | None) -> IdMap | None:
    """The map a container runs with: none without remapping or with ``--userns=host``."""
    if idmap is None or hc.get("UsernsMode") == "host":
        return None
    return idmap


def apply(config: Json, idmap: IdMap, user_sysctls: Mapping[str, Any]) -> Json:
    """``config`` (an OCI config.json) with a user namespace and the map's mappings."""
    linux = config.setdefault("linux", {})
    spaces = [ns for ns in linux.get("namespaces", []) if ns.get("type") != "user"]
    linux["namespaces"] = [*spaces, {"type": "user"}]
    linux["uidMappings"], linux["gidMappings"] = idmap.oci()
    sysctl = linux.get("sysctl")
    if isinstance(sysctl, dict):
        for key in _DEFAULT_NET_SYSCTLS:
            if key not in user_sysctls:
                sysctl.pop(key, None)
        if not sysctl:
            linux.pop("sysctl")
    return config


def open_to(idmap: IdMap, directory: str) -> None:
    """``directory`` root:<container root's gid> 0710: the runtime, working as the
    container's root, reaches the root filesystem and the /etc files mounted from there,
    and lists nothing."""
    os.chown(directory, 0, idmap.root[1])
    os.chmod(directory, 0o710)


def own(idmap: IdMap, *paths: str) -> None:
    """Files the daemon writes for the container (/etc/hosts...) owned by its root, so root
    inside may change them as with dockerd."""
    uid, gid = idmap.root
    for p in paths:
        if os.path.lexists(p):
            os.chown(p, uid, gid, follow_symlinks=False)
