"""Host preparation at daemon start, and the host facts the OCI config is clamped to.

``prepare_host`` is idempotent.  What it may change on the host: in a hybrid cgroup
layout (v1 hierarchies on a tmpfs plus a cgroup2 at ``unified``), crun refuses to run
while the v2 hierarchy still has controllers ("cgroups in hybrid mode not supported,
drop all controllers from cgroupv2"); a controller lands there when no v1 hierarchy is
mounted for it (here: ``hugetlb``).  Mounting the missing v1 hierarchy moves it back.
The mount is left in place on purpose: it is the host's normal shape, and other
engines (podman, dockerd) need it too.
"""

from __future__ import annotations

import os
import resource
import subprocess
from dataclasses import dataclass, field

from cove.errors import SystemError_
from cove.oci.caps import caps_from_mask
from cove.util.idmap import in_user_namespace

CGROUP_ROOT = "/sys/fs/cgroup"
_RLIMITS = {
    name: getattr(resource, name)
    for name in (
        "RLIMIT_AS",
        "RLIMIT_CORE",
        "RLIMIT_CPU",
        "RLIMIT_DATA",
        "RLIMIT_FSIZE",
        "RLIMIT_LOCKS",
        "RLIMIT_MEMLOCK",
        "RLIMIT_MSGQUEUE",
        "RLIMIT_NICE",
        "RLIMIT_NOFILE",
        "RLIMIT_NPROC",
        "RLIMIT_RSS",
        "RLIMIT_RTPRIO",
        "RLIMIT_RTTIME",
        "RLIMIT_SIGPENDING",
        "RLIMIT_STACK",
    )
    if hasattr(resource, name)
}


@dataclass(frozen=True)
class HostFacts:
    runtime_path: str
    conmon_path: str
    runtime_version: str  # first line of `<runtime> --version`, e.g. "crun version 1.8.1"
    cgroup_mode: str  # "v1", "hybrid" or "v2"
    bounding_caps: frozenset[str]  # CapBnd of the daemon: what a container can be given
    rlimits: dict[str, int] = field(default_factory=dict)  # ceilings by OCI name; -1 = none
    mounted: tuple[str, ...] = ()  # cgroup v1 hierarchies prepare_host mounted

    @property
    def nofile_max(self) -> int:
        return self.rlimits.get("RLIMIT_NOFILE", -1)


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, fs type, super options) from /proc/self/mountinfo."""
    out: list[tuple[str, str, str]] = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, rfields = left.split(), right.split()
            if len(fields) >= 5 and len(rfields) >= 3:
                out.append((fields[4].replace("\\040", " "), rfields[0], rfields[2]))
    return out


def cgroup_mode() -> str:
    mounts = _mounts()
    types = {point: typ for point, typ, _ in mounts}
    if types.get(CGROUP_ROOT) == "cgroup2":
        return "v2"
    if types.get(f"{CGROUP_ROOT}/unified") == "cgroup2":
        return "hybrid"
    return "v1"


def _v1_controllers(mounts: list[tuple[str, str, str]]) -> set[str]:
    mounted: set[str] = set()
    for _, typ, opts in mounts:
        if typ == "cgroup":
            mounted.update(opts.split(","))
    return mounted


def fix_hybrid_cgroups() -> tuple[str, ...]:
    """Mount a v1 hierarchy for every controller left on the hybrid layout's cgroup2.
    Returns the controllers mounted; raises SystemError_ when one cannot be."""
    try:
        with open(f"{CGROUP_ROOT}/unified/cgroup.controllers") as f:
            stranded = f.read().split()
    except OSError:
        return ()
    mounted_v1 = _v1_controllers(_mounts())
    done: list[str] = []
    for ctl in stranded:
        if ctl in mounted_v1:
            continue
        target = f"{CGROUP_ROOT}/{ctl}"
        try:
            os.makedirs(target, exist_ok=True)
        except OSError as e:
            raise SystemError_(
                f"cannot prepare cgroups: crun refuses a hybrid cgroup layout whose cgroup2 "
                f"still holds the {ctl} controller, and creating {target} failed: {e.strerror}"
            ) from e
        res = subprocess.run(
            ["mount", "-t", "cgroup", "-o", ctl, "cgroup", target],
            capture_output=True,
            text=True,
            check=False,
        )
        if res.returncode != 0:
            raise SystemError_(
                f"cannot prepare cgroups: crun refuses a hybrid cgroup layout whose cgroup2 "
                f"still holds the {ctl} controller, and mounting its v1 hierarchy at {target} "
                f"failed: {res.stderr.strip()}"
            )
        done.append(ctl)
    return tuple(done)


def bounding_caps() -> frozenset[str]:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return caps_from_mask(int(line.split()[1], 16))
    return frozenset()


def rlimit_ceilings(caps: frozenset[str]) -> dict[str, int]:
    """The highest hard limit a container may get per resource.  Without
    CAP_SYS_RESOURCE that is the daemon's own hard limit; with it, only RLIMIT_NOFILE is
    bounded (by fs.nr_open)."""
    out: dict[str, int] = {}
    # in a user namespace (rootless) the capability counts there only: the kernel checks
    # raising a hard limit against the initial namespace, so the hard limits still hold
    if "CAP_SYS_RESOURCE" in caps and not in_user_namespace():
        try:
            with open("/proc/sys/fs/nr_open") as f:
                out["RLIMIT_NOFILE"] = int(f.read())
        except (OSError, ValueError):
            pass
        return out
    for name, res in _RLIMITS.items():
        hard = resource.getrlimit(res)[1]
        out[name] = -1 if hard == resource.RLIM_INFINITY else hard
    return out


def _check_executable(path: str, what: str, package: str) -> None:
    if not os.access(path, os.X_OK):
        raise SystemError_(
            f"{what} not found at {path}: install the Debian package {package!r} "
            f"or point the daemon at another path"
        )


def prepare_host(
    runtime_path: str = "/usr/bin/crun", conmon_path: str = "/usr/bin/conmon"
) -> HostFacts:
    """Check the runtime and monitor binaries, fix a hybrid cgroup layout, read the
    capability and rlimit ceilings.  Raises SystemError_ with what to do."""
    runtime_name = os.path.basename(runtime_path)
    _check_executable(runtime_path, f"OCI runtime {runtime_name}", runtime_name)
    _check_executable(conmon_path, "container monitor conmon", "conmon")
    if os.geteuid() != 0:
        raise SystemError_("the daemon must run as root (a regular user runs coved --rootless)")
    res = subprocess.run([runtime_path, "--version"], capture_output=True, text=True, check=False)
    version = (res.stdout.splitlines() or [""])[0].strip()
    if res.returncode != 0 or not version:
        raise SystemError_(f"OCI runtime {runtime_path} does not run: {res.stderr.strip()}")
    mode = cgroup_mode()
    mounted = fix_hybrid_cgroups() if mode == "hybrid" else ()
    caps = bounding_caps()
    return HostFacts(
        runtime_path=runtime_path,
        conmon_path=conmon_path,
        runtime_version=version,
        cgroup_mode=mode,
        bounding_caps=caps,
        rlimits=rlimit_ceilings(caps),
        mounted=mounted,
    )
