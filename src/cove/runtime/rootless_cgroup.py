"""Edge module: a rootless daemon's cgroups through cgroup v2 delegation.

On a host with a unified cgroup2, systemd gives each user a subtree of their own
(``user@<uid>.service``: the user owns the directories and their ``cgroup.subtree_control``)
and names the controllers it hands down in the subtree's ``cgroup.controllers``.  A user's
process may then make child cgroups, move its own processes between them and enable there
the controllers it was given, with no privilege: what rootless Podman and Docker use for
``--memory``, ``--cpus``, ``--pids-limit`` and the rest.

``delegate`` runs once at the start of ``coved --rootless``, before it makes its
namespaces, so that every process of the daemon (its holder and user-mode network too)
inherits the result:

1. the daemon's own cgroup ``B`` (from /proc/self/cgroup) must be writable by the user;
2. the daemon moves itself into the leaf ``B/daemon``: the kernel refuses to enable
   controllers for the children of a cgroup that still has processes of its own (the "no
   internal processes" rule);
3. every controller ``B`` has is enabled in ``B/cgroup.subtree_control``;
4. containers then go to ``B/cove-<id>`` (crun's cgroupfs manager), with the limits of the
   controllers that were enabled; the others are discarded with dockerd's warnings
   (runtime/rootless.py).

Nothing is delegated (None: the daemon runs its containers with no cgroup, as on a cgroup
v1 host) when the host's cgroup is not v2, the cgroup is not the user's, or ``B`` still
holds another process (the user started coved from a shell sharing its cgroup; a
``systemd-run --user --scope`` start, or the service unit of docs/rootless.md, avoids it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ROOT = "/sys/fs/cgroup"
LEAF = "daemon"  # the daemon's own leaf under its base cgroup


@dataclass(frozen=True)
class Delegation:
    base: str  # the containers' parent, as a path from the cgroup2 root ("/a/b")
    controllers: frozenset[str]  # enabled for the containers: memory, pids, cpu, io, cpuset

    def container_path(self, cid: str) -> str:
        return f"{self.base.rstrip('/')}/cove-{cid}"


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def own_cgroup(proc_cgroup: str = "/proc/self/cgroup") -> str:
    """This process's cgroup v2 path ("0::/path"); "" without a unified hierarchy line."""
    try:
        for line in _read(proc_cgroup).splitlines():
            if line.startswith("0::"):
                return line[3:] or "/"
    except OSError:
        pass
    return ""


def unified(root: str = ROOT) -> bool:
    """A pure cgroup2 host: the root is cgroup2 itself (not v1, not hybrid)."""
    return os.path.exists(os.path.join(root, "cgroup.controllers"))


def delegate(root: str = ROOT) -> tuple[Delegation | None, str]:
    """Set the daemon's cgroups up as above: (the delegation or None, why none)."""
    if not unified(root):
        return None, "the host's cgroups are not cgroup v2"
    own = own_cgroup()
    if not own:
        return None, "this process has no cgroup v2 path"
    base = os.path.dirname(own) if os.path.basename(own) == LEAF else own
    path = os.path.join(root, base.lstrip("/"))
    for name in ("", "cgroup.procs", "cgroup.subtree_control"):
        if not os.access(os.path.join(path, name), os.W_OK):
            return None, f"cgroup {base} is not delegated to this user"
    try:
        available = _read(os.path.join(path, "cgroup.controllers")).split()
        leaf = os.path.join(path, LEAF)
        os.makedirs(leaf, exist_ok=True)
        _write(os.path.join(leaf, "cgroup.procs"), str(os.getpid()))
    except OSError as e:
        return None, f"cannot use cgroup {base}: {e.strerror}"
    for ctl in available:  # one by one: a controller the kernel refuses leaves the others
        try:
            _write(os.path.join(path, "cgroup.subtree_control"), f"+{ctl}")
        except OSError:
            continue
    try:
        enabled = frozenset(_read(os.path.join(path, "cgroup.subtree_control")).split())
    except OSError as e:
        return None, f"cannot use cgroup {base}: {e.strerror}"
    if not enabled:
        # B still holds processes (the kernel refused every controller): limits need
        # a cgroup of the daemon's own
        return None, f"no controller could be enabled in cgroup {base} (other processes in it?)"
    return Delegation(base, enabled), ""
