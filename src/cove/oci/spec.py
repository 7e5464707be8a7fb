"""The OCI runtime config (config.json) for a container, as dockerd would write it.

Pure: ``build_config(spec)`` is a function of a ``ContainerSpec`` (what the engine knows
about the container plus the host facts it clamps to).  The defaults follow moby's
``oci.DefaultLinuxSpec`` and ``daemon/oci_linux.go``: namespaces, mounts, capabilities,
masked and read-only paths, the device cgroup rules, the unprivileged-port and ping
sysctls, the environment dockerd adds (PATH, HOSTNAME, TERM).  Two deliberate
differences: capabilities and rlimits are clamped to what the host can grant (dockerd
fails instead), and RLIMIT_NOFILE defaults to Docker's usual 1048576 (clamped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cove.errors import InvalidArgument
from cove.oci import caps as capmod

OCI_VERSION = "1.0.2"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHM_SIZE = 64 * 1024 * 1024
DEFAULT_NOFILE = 1048576
RLIM_INFINITY = 2**64 - 1

# As `docker inspect` of Docker 28 shows them (HostConfig.MaskedPaths / ReadonlyPaths).
DEFAULT_MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
)
DEFAULT_READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)

_ULIMIT_NAMES = frozenset(
    [
        "as",
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ]
)


@dataclass(frozen=True)
class ContainerSpec:
    """Everything ``build_config`` needs.  Namespace modes: ``"private"`` (a new one),
    ``"host"`` (none: share the host's), or a path such as ``/proc/<pid>/ns/net`` or a
    bind-mounted netns to join.  ``network`` also accepts ``"new"`` for private."""

    rootfs: str
    args: Sequence[str]
    env: Sequence[str] = ()  # the container's Config.Env (image env merged with -e)
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: Sequence[int] = ()
    home: str | None = None  # from resolve_user; HOME is added when env has none
    tty: bool = False
    console_size: tuple[int, int] | None = None  # (height, width)
    hostname: str = ""
    domainname: str = ""
    mounts: Sequence[Mapping[str, Any]] = ()  # OCI mounts: binds for /etc/hosts, volumes...
    network: str = "new"
    ipc: str = "private"
    pid: str = "private"
    uts: str = "private"
    cgroup: str = "host"  # dockerd's --cgroupns: "private" gives a cgroup namespace
    readonly_rootfs: bool = False
    privileged: bool = False
    cap_add: Sequence[str] = ()
    cap_drop: Sequence[str] = ()
    host_caps: frozenset[str] | None = None  # the daemon's bounding set (HostFacts)
    host_rlimits: Mapping[str, int] | None = None  # ceilings by OCI name; -1 = unlimited
    ulimits: Sequence[tuple[str, int, int]] = ()  # ("nofile", soft, hard); -1 = unlimited
    cgroups_path: str | None = None  # e.g. "/cove/<id>"
    annotations: Mapping[str, str] = field(default_factory=dict)
    oom_score_adj: int = 0
    no_new_privileges: bool = False
    sysctls: Mapping[str, str] = field(default_factory=dict)
    net_sysctls: bool = True  # dockerd's ip_unprivileged_port_start / ping_group_range
    masked_paths: Sequence[str] | None = None  # None: Docker's defaults ([] if privileged)
    readonly_paths: Sequence[str] | None = None
    shm_size: int = DEFAULT_SHM_SIZE
    devices: Sequence[Mapping[str, Any]] = ()  # linux.devices entries (--device)
    device_cgroup_rules: Sequence[Mapping[str, Any]] = ()  # more linux.resources.devices
    resources: Mapping[str, Any] = field(default_factory=dict)  # memory, cpu, pids, ...
    hooks: Mapping[str, Any] | None = None
    seccomp: Mapping[str, Any] | None = None
    apparmor_profile: str | None = None


def merge_env(base: Sequence[str], overrides: Sequence[str]) -> list[str]:
    """moby's ReplaceOrAppendEnvValues: ``K=V`` replaces K in place or appends; a bare
    ``K`` removes K."""
    out = list(base)
    for item in overrides:
        key, eq, _ = item.partition("=")
        idx = next((i for i, e in enumerate(out) if e.partition("=")[0] == key), None)
        if not eq:
            if idx is not None:
                del out[idx]
        elif idx is None:
            out.append(item)
        else:
            out[idx] = item
    return out


def process_env(env: Sequence[str], hostname: str, tty: bool, home: str | None = None) -> list[str]:
    """The env dockerd hands the runtime: PATH, HOSTNAME, TERM (with a TTY), then the
    container's own; HOME last when absent (the runtime would look it up the same way)."""
    base = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={hostname}"]
    if tty:
        base.append("TERM=xterm")
    out = merge_env(base, env)
    if home is not None and not any(e.startswith("HOME=") for e in out):
        out.append(f"HOME={home}")
    return out


def _rlimit_value(v: int) -> int:
    return RLIM_INFINITY if v < 0 else v


def build_rlimits(spec: ContainerSpec) -> list[dict[str, Any]]:
    """``process.rlimits``: the given ulimits plus RLIMIT_NOFILE 1048576 unless set, each
    clamped to the host ceilings (raising a hard limit needs CAP_SYS_RESOURCE)."""
    limits: dict[str, tuple[int, int]] = {"RLIMIT_NOFILE": (DEFAULT_NOFILE, DEFAULT_NOFILE)}
    for name, soft, hard in spec.ulimits:
        short = name.lower().removeprefix("rlimit_")
        if short not in _ULIMIT_NAMES:
            raise InvalidArgument(f"invalid ulimit type: {name}")
        s, h = _rlimit_value(soft), _rlimit_value(hard)
        if s > h:
            raise InvalidArgument(
                f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            )
        limits["RLIMIT_" + short.upper()] = (s, h)
    out: list[dict[str, Any]] = []
    for typ, (soft, hard) in limits.items():
        ceiling = (spec.host_rlimits or {}).get(typ)
        if ceiling is not None and ceiling >= 0:
            hard = min(hard, ceiling)
            soft = min(soft, hard)
        out.append({"type": typ, "hard": hard, "soft": soft})
    return out


def _user(uid: int, gid: int, gids: Sequence[int]) -> dict[str, Any]:
    user: dict[str, Any] = {"uid": uid, "gid": gid}
    if gids:
        user["additionalGids"] = list(gids)
    return user


def container_caps(spec: ContainerSpec) -> list[str]:
    return capmod.tweak(spec.cap_add, spec.cap_drop, spec.privileged, spec.host_caps)


def build_process(spec: ContainerSpec) -> dict[str, Any]:
    if not spec.args:
        raise InvalidArgument("no command specified")
    proc: dict[str, Any] = {
        "terminal": spec.tty,
        "user": _user(spec.uid, spec.gid, spec.additional_gids),
        "args": list(spec.args),
        "env": process_env(spec.env, spec.hostname, spec.tty, spec.home),
        "cwd": spec.cwd or "/",
        "capabilities": capmod.capability_object(container_caps(spec), spec.uid),
        "rlimits": build_rlimits(spec),
        "noNewPrivileges": spec.no_new_privileges,
        "oomScoreAdj": spec.oom_score_adj,
    }
    if spec.tty and spec.console_size:
        proc["consoleSize"] = {"height": spec.console_size[0], "width": spec.console_size[1]}
    if spec.apparmor_profile:
        proc["apparmorProfile"] = spec.apparmor_profile
    return proc


def build_exec_process(
    spec: ContainerSpec,
    args: Sequence[str],
    *,
    env: Sequence[str] = (),
    cwd: str | None = None,
    user: tuple[int, int, Sequence[int]] | None = None,
    tty: bool = False,
    privileged: bool = False,
    console_size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The OCI process for ``docker exec``: the container's process with the exec's args,
    env (the container's env plus ``env``), cwd, user and TTY; capabilities are the
    container's, or every host capability when ``privileged``.  ``user`` is
    ``(uid, gid, additional_gids)`` from resolve_user; None keeps the container's."""
    if not args:
        raise InvalidArgument("No exec command specified")
    proc = build_process(spec)
    uid, gid, gids = user if user is not None else (spec.uid, spec.gid, spec.additional_gids)
    base_env = process_env(spec.env, spec.hostname, tty)
    caps = (
        capmod.tweak(privileged=True, host=spec.host_caps) if privileged else container_caps(spec)
    )
    proc.update(
        terminal=tty,
        user=_user(uid, gid, gids),
        args=list(args),
        env=merge_env(base_env, env),
        cwd=cwd or spec.cwd or "/",
        capabilities=capmod.capability_object(caps, uid),
    )
    proc.pop("consoleSize", None)
    if tty and console_size:
        proc["consoleSize"] = {"height": console_size[0], "width": console_size[1]}
    return proc


def _ns(kind: str, mode: str) -> dict[str, str] | None:
    if mode == "host":
        return None
    if mode in ("private", "new", "", "shareable", "none"):
        return {"type": kind}
    if not mode.startswith("/"):
        raise InvalidArgument(f"invalid {kind} namespace mode: {mode}")
    return {"type": kind, "path": mode}


def build_namespaces(spec: ContainerSpec) -> list[dict[str, str]]:
    wanted = [
        ("mount", "private"),
        ("network", spec.network),
        ("uts", spec.uts),
        ("pid", spec.pid),
        ("ipc", spec.ipc),
        ("cgroup", spec.cgroup),
    ]
    return [ns for kind, mode in wanted if (ns := _ns(kind, mode)) is not None]


def _depth(dest: str) -> int:
    return len([p for p in dest.split("/") if p and p != "."])


def build_mounts(spec: ContainerSpec) -> list[dict[str, Any]]:
    """Docker's default mounts, minus those a user mount replaces (a user ``/dev`` also
    replaces everything below it), then the user mounts, shallowest first."""
    sys_ro = [] if spec.privileged else ["ro"]
    shm: dict[str, Any] | None = {
        "destination": "/dev/shm",
        "type": "tmpfs",
        "source": "shm",
        "options": ["rw", "nosuid", "noexec", "nodev", "mode=1777", f"size={spec.shm_size}"],
    }
    if spec.ipc == "host":
        shm = {
            "destination": "/dev/shm",
            "type": "bind",
            "source": "/dev/shm",
            "options": ["rbind", "rprivate"],
        }
    elif spec.ipc == "none":
        shm = None  # dockerd's --ipc none: an IPC namespace and no /dev/shm at all
    defaults: list[dict[str, Any]] = [
        _mount("/proc", "proc", "proc", ["rw", "nosuid", "noexec", "nodev"]),
        _mount(
            "/dev", "tmpfs", "tmpfs", ["rw", "nosuid", "strictatime", "mode=755", "size=65536k"]
        ),
        _mount(
            "/dev/pts",
            "devpts",
            "devpts",
            ["rw", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        ),
        _mount("/sys", "sysfs", "sysfs", [*(sys_ro or ["rw"]), "nosuid", "noexec", "nodev"]),
        _mount(
            "/sys/fs/cgroup", "cgroup", "cgroup", [*(sys_ro or ["rw"]), "nosuid", "noexec", "nodev"]
        ),
        _mount("/dev/mqueue", "mqueue", "mqueue", ["rw", "nosuid", "noexec", "nodev"]),
        *([shm] if shm else []),
    ]
    user_dests = {str(m.get("destination", "")).rstrip("/") or "/" for m in spec.mounts}
    out = [
        m
        for m in defaults
        if m["destination"] not in user_dests
        and not ("/dev" in user_dests and m["destination"].startswith("/dev/"))
    ]
    if spec.readonly_rootfs:
        for m in out:
            if m["destination"] not in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue"):
                m["options"] = [o for o in m["options"] if o != "rw"]
                if "ro" not in m["options"]:
                    m["options"].insert(0, "ro")
    user = sorted((dict(m) for m in spec.mounts), key=lambda m: _depth(str(m["destination"])))
    return out + user


def _mount(dest: str, typ: str, source: str, options: list[str]) -> dict[str, Any]:
    return {"destination": dest, "type": typ, "source": source, "options": options}


def _dev(typ: str, major: int | None, minor: int | None, allow: bool = True) -> dict[str, Any]:
    rule: dict[str, Any] = {"allow": allow, "type": typ, "access": "rwm"}
    if major is not None:
        rule["major"] = major
    if minor is not None:
        rule["minor"] = minor
    return rule


# moby's DefaultLinuxSpec rules (deny all, allow the basic character devices, deny
# /dev/fuse) ...
DEFAULT_DEVICE_RULES: tuple[dict[str, Any], ...] = (
    {"allow": False, "access": "rwm"},
    _dev("c", 1, 5),
    _dev("c", 1, 3),
    _dev("c", 1, 9),
    _dev("c", 1, 8),
    _dev("c", 5, 0),
    _dev("c", 5, 1),
    _dev("c", 10, 229, allow=False),
)
# ... then what runc appends after the config's own rules (its AllowedDevices): mknod of
# anything, /dev/full, /dev/ptmx, the container's ptys, /dev/net/tun.  Order matters on
# cgroup v1: a deny after a wildcard allow cannot be applied ("cannot punch hole").
RUNC_DEVICE_RULES: tuple[dict[str, Any], ...] = (
    {"allow": True, "type": "c", "access": "m"},
    {"allow": True, "type": "b", "access": "m"},
    _dev("c", 1, 7),
    _dev("c", 5, 2),
    _dev("c", 136, None),
    _dev("c", 10, 200),
)


def build_config(spec: ContainerSpec) -> dict[str, Any]:
    """The whole config.json for ``spec``."""
    linux: dict[str, Any] = {"namespaces": build_namespaces(spec)}
    if spec.privileged:
        devices = [{"allow": True, "access": "rwm"}]
    else:
        devices = [dict(r) for r in DEFAULT_DEVICE_RULES]
        devices += [dict(r) for r in spec.device_cgroup_rules]
        devices += [dict(r) for r in RUNC_DEVICE_RULES]
    resources: dict[str, Any] = {k: v for k, v in spec.resources.items() if k != "devices"}
    resources["devices"] = devices
    linux["resources"] = resources
    if spec.devices:
        linux["devices"] = [dict(d) for d in spec.devices]
    if spec.cgroups_path:
        linux["cgroupsPath"] = spec.cgroups_path
    sysctls: dict[str, str] = {}
    if spec.net_sysctls and spec.network != "host":
        sysctls["net.ipv4.ip_unprivileged_port_start"] = "0"
        sysctls["net.ipv4.ping_group_range"] = "0 2147483647"
    sysctls.update(spec.sysctls)
    if sysctls:
        linux["sysctl"] = sysctls
    masked = spec.masked_paths
    readonly = spec.readonly_paths
    linux["maskedPaths"] = list(
        masked if masked is not None else (() if spec.privileged else DEFAULT_MASKED_PATHS)
    )
    linux["readonlyPaths"] = list(
        readonly if readonly is not None else (() if spec.privileged else DEFAULT_READONLY_PATHS)
    )
    if spec.seccomp is not None:
        linux["seccomp"] = dict(spec.seccomp)

    config: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": build_process(spec),
        "root": {"path": spec.rootfs, "readonly": spec.readonly_rootfs},
        "mounts": build_mounts(spec),
        "linux": linux,
    }
    if spec.uts != "host":
        if spec.hostname:
            config["hostname"] = spec.hostname
        if spec.domainname:
            config["domainname"] = spec.domainname
    if spec.hooks:
        config["hooks"] = dict(spec.hooks)
    if spec.annotations:
        config["annotations"] = dict(spec.annotations)
    return config
