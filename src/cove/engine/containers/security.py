"""A container's confinement: ``--security-opt``, seccomp, ``--sysctl``, devices.

``check`` runs at create, before anything exists: it parses ``HostConfig.SecurityOpt`` the
way dockerd does (and with its words), checks a seccomp profile given inline, the
sysctls, the devices and the device cgroup rules, and normalizes the HostConfig in place
(masked and read-only paths written out, as dockerd records them).  ``spec_fields`` turns
the same HostConfig into the ``ContainerSpec`` fields for config.json at each start.

AppArmor and SELinux options are kept in the record (``AppArmorProfile``, the
``label=...`` entries of SecurityOpt) and, like dockerd on a host without those modules,
are not applied.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cove.errors import InvalidArgument
from cove.oci import caps as capmod
from cove.oci import seccomp
from cove.oci.spec import DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS
from cove.runtime import proc
from cove.util.jsontypes import Json

UNCONFINED = "unconfined"
BUILTIN = "builtin"

# Sysctls that a container's own namespaces isolate: by exact name or by prefix.
_IPC_SYSCTLS = frozenset(
    ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
     "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")
)  # fmt: skip
_CGROUP_RULE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")
# Left out of --privileged's copy of /dev: the runtime makes its own pts, console, ptmx.
_HOST_DEV_SKIP_DIRS = frozenset(("pts", ".lxc", ".lxd-mounts", ".udev", "shm", "mqueue"))
_HOST_DEV_SKIP = frozenset(("/dev/console", "/dev/ptmx", "/dev/tty"))


@dataclass
class SecurityOpts:
    seccomp: str = ""  # "" (the daemon's), "unconfined", "builtin" or a profile's JSON
    apparmor: str = ""
    labels: list[str] = field(default_factory=list)
    no_new_privileges: bool | None = None  # None: the daemon's default


def parse_opts(opts: list[Any] | None) -> SecurityOpts:
    """dockerd's parseSecurityOpt: ``key=value`` (or the deprecated ``key:value``);
    ``no-new-privileges`` alone; ``disable`` alone for ``label=disable``."""
    out = SecurityOpts()
    for opt in opts or []:
        if not isinstance(opt, str):
            raise InvalidArgument(f'invalid --security-opt 1: "{opt}"')
        if opt == "no-new-privileges":
            out.no_new_privileges = True
            continue
        if opt == "disable":
            out.labels.append("disable")
            continue
        sep = "=" if "=" in opt else (":" if ":" in opt else "")
        if not sep:
            raise InvalidArgument(f'invalid --security-opt 1: "{opt}"')
        key, _, value = opt.partition(sep)
        if key == "label":
            out.labels.append(value)
        elif key == "apparmor":
            out.apparmor = value
        elif key == "seccomp":
            out.seccomp = value
        elif key == "no-new-privileges":
            flag = _parse_bool(value)
            if flag is None:
                raise InvalidArgument(f'invalid --security-opt 2: "{opt}"')
            out.no_new_privileges = flag
        else:
            raise InvalidArgument(f'invalid --security-opt 2: "{opt}"')
    return out


def _parse_bool(v: str) -> bool | None:
    """Go's strconv.ParseBool."""
    if v in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if v in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    return None


def profile_of(value: str, daemon_profile: str) -> Json | None:
    """The Docker-format profile a container runs under, None for unconfined.
    ``value`` is the container's seccomp option, ``daemon_profile`` the daemon's
    (``builtin``, ``unconfined`` or a profile's JSON text)."""
    chosen = value or daemon_profile or BUILTIN
    if chosen == UNCONFINED:
        return None
    if chosen == BUILTIN:
        from cove.oci.seccomp_default import default_profile

        return default_profile()
    return seccomp.load(chosen)


def daemon_profile(value: str) -> tuple[str, str]:
    """The daemon's ``seccomp-profile`` option -> (``builtin``, ``unconfined`` or the
    profile's JSON text; the path it came from).  A bad file stops the daemon's start, as
    it stops dockerd's."""
    if value in ("", BUILTIN, "default"):
        return BUILTIN, ""
    if value == UNCONFINED:
        return UNCONFINED, ""
    try:
        with open(value, encoding="utf-8") as f:
            text = f.read(8 << 20)
    except OSError as e:
        raise InvalidArgument(f"opening seccomp profile ({value}) failed: {e}") from None
    seccomp.load(text)
    return text, value


def check_sysctls(hc: Json) -> None:
    """Only sysctls of namespaces the container has its own of, with the words dockerd's
    runtime answers (cove says them at create, so nothing is created)."""
    sysctls = hc.get("Sysctls") or {}
    if not isinstance(sysctls, dict):
        raise InvalidArgument("Sysctls must be a map of names to values")
    net = str(hc.get("NetworkMode") or "default")
    for name, value in sysctls.items():
        if not isinstance(value, str):
            raise InvalidArgument(f"invalid value for sysctl {name!r}: a string is expected")
        if name in _IPC_SYSCTLS or name.startswith("fs.mqueue."):
            if hc.get("IpcMode") == "host":
                raise InvalidArgument(f'sysctl "{name}" is not allowed in the hosts ipc namespace')
        elif name.startswith("net."):
            if net == "host":
                raise InvalidArgument(f'sysctl "{name}" not allowed in host network namespace')
        elif name == "kernel.domainname":
            if hc.get("UTSMode") == "host" or net == "host":
                raise InvalidArgument(f'sysctl "{name}" is not allowed in the hosts uts namespace')
        else:
            raise InvalidArgument(f'sysctl "{name}" is not in a separate kernel namespace')


_PER_INTERFACE = re.compile(r"^net\.ipv[46]\.(conf|neigh)\.([^.]+)\.")


def _late(name: str) -> bool:
    """A sysctl of one of the container's interfaces (``net.ipv4.conf.eth0.*``): the
    interface exists only once the network is attached, after the runtime's create, so
    the runtime cannot write it; ``late_sysctls`` does, before the process runs."""
    m = _PER_INTERFACE.match(name)
    return m is not None and m.group(2) not in ("all", "default", "lo")


async def late_sysctls(hc: Mapping[str, Any], pid: int) -> None:
    """Write the per-interface sysctls inside the container's network namespace."""
    late = {k: v for k, v in (hc.get("Sysctls") or {}).items() if _late(k)}
    if not late:
        return
    try:
        with open(f"/proc/{pid}/net/dev") as f:  # the interfaces of the container's netns
            have = {line.split(":")[0].strip() for line in f.readlines()[2:]}
    except OSError:
        have = set()
    for name in late:
        m = _PER_INTERFACE.match(name)
        if m is not None and m.group(2) not in have:
            raise InvalidArgument(f'sysctl "{name}": the container has no interface {m.group(2)}')
    argv = ["nsenter", f"--net=/proc/{pid}/ns/net", "sysctl", "-q", "-w"]
    argv += [f"{k}={v}" for k, v in late.items()]
    # in a worker thread (proc.run): asyncio's subprocess transport, cancelled at coved's
    # shutdown while it connected its pipes, never finished (Python 3.11)
    rc, _, err = await proc.run(argv)
    if rc != 0:
        raise InvalidArgument(f"cannot set sysctls {', '.join(late)}: {err}")


def cgroup_rule(text: Any) -> Json:
    """``c 1:3 rwm`` -> an OCI ``linux.resources.devices`` entry."""
    m = _CGROUP_RULE.match(text) if isinstance(text, str) else None
    if m is None:
        raise InvalidArgument(f"invalid device cgroup rule format: '{text}'")
    typ, major, minor, access = m.groups()
    rule: Json = {"allow": True, "type": typ, "access": access}
    if major != "*":
        rule["major"] = int(major)
    if minor != "*":
        rule["minor"] = int(minor)
    return rule


def _device(path: str, inside: str, perms: str) -> tuple[Json, Json] | None:
    """The linux.devices entry and its cgroup rule; None if ``path`` is no device."""
    st = os.stat(path)
    if stat.S_ISCHR(st.st_mode):
        typ = "c"
    elif stat.S_ISBLK(st.st_mode):
        typ = "b"
    else:
        return None
    major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
    dev = {"path": inside, "type": typ, "major": major, "minor": minor,
           "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}  # fmt: skip
    rule = {"allow": True, "type": typ, "major": major, "minor": minor, "access": perms}
    return dev, rule


def _walk_devices(top: str, skip_dirs: frozenset[str] = frozenset()) -> Iterator[str]:
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs)
        for name in sorted(files):
            yield os.path.join(root, name)


def user_devices(hc: Mapping[str, Any]) -> tuple[list[Json], list[Json]]:
    """``--device``: the devices and their cgroup rules; a directory brings every device
    below it.  dockerd's words when a path is missing or no device."""
    devices: list[Json] = []
    rules: list[Json] = []
    for d in hc.get("Devices") or []:
        host = str(d.get("PathOnHost") or "")
        inside = str(d.get("PathInContainer") or host)
        perms = str(d.get("CgroupPermissions") or "rwm")
        if not perms or any(c not in "rwm" for c in perms):
            raise InvalidArgument(f"bad mode specified: {perms}")
        if not inside.startswith("/"):
            raise InvalidArgument(f"{inside} is not an absolute path")
        words = f'error gathering device information while adding custom device "{host}"'
        try:
            real = os.path.realpath(host)
            found = _device(real, inside, perms)
            if found is None and os.path.isdir(real):
                for p in _walk_devices(real):
                    sub = _device(p, os.path.join(inside, os.path.relpath(p, real)), perms)
                    if sub is not None:
                        devices.append(sub[0])
                        rules.append(sub[1])
                continue
        except OSError as e:
            raise InvalidArgument(f"{words}: {(e.strerror or str(e)).lower()}") from None
        if found is None:
            raise InvalidArgument(f"{words}: not a device node")
        devices.append(found[0])
        rules.append(found[1])
    return devices, rules


def host_devices() -> list[Json]:
    """Every device node of the host's /dev, for ``--privileged``."""
    out: list[Json] = []
    for p in _walk_devices("/dev", _HOST_DEV_SKIP_DIRS):
        if p in _HOST_DEV_SKIP:
            continue
        try:
            found = _device(p, p, "rwm")
        except OSError:
            continue  # gone meanwhile, or a dangling link
        if found is not None:
            out.append(found[0])
    return out


def check(hc: Json, daemon_profile: str) -> str:
    """Everything above, at create; normalizes ``hc``.  Returns the AppArmor profile for
    the record."""
    opts = parse_opts(hc.get("SecurityOpt"))
    if opts.seccomp not in ("", UNCONFINED, BUILTIN):
        seccomp.load(opts.seccomp)
    check_sysctls(hc)
    for rule in hc.get("DeviceCgroupRules") or []:
        cgroup_rule(rule)
    user_devices(hc)
    if not hc.get("Privileged"):
        if hc.get("MaskedPaths") is None:
            hc["MaskedPaths"] = list(DEFAULT_MASKED_PATHS)
        if hc.get("ReadonlyPaths") is None:
            hc["ReadonlyPaths"] = list(DEFAULT_READONLY_PATHS)
    return opts.apparmor


def _kernel() -> tuple[int, int]:
    m = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def apparmor_enabled() -> bool:
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().strip() == "Y"
    except OSError:
        return False


def spec_fields(
    hc: Mapping[str, Any], host_caps: frozenset[str] | None, daemon_profile: str, daemon_nnp: bool
) -> Json:
    """The ContainerSpec fields for the confinement of a container with HostConfig
    ``hc`` (checked at create)."""
    opts = parse_opts(hc.get("SecurityOpt"))
    privileged = bool(hc.get("Privileged"))
    caps = capmod.tweak(hc.get("CapAdd") or (), hc.get("CapDrop") or (), privileged, host_caps)
    section = None
    if not privileged:  # --privileged runs without seccomp, as in Docker
        profile = profile_of(opts.seccomp, daemon_profile)
        if profile is not None:
            section = seccomp.oci_section(profile, caps, os.uname().machine, _kernel())
    devices, rules = user_devices(hc)
    if privileged:
        devices = host_devices()
    rules += [cgroup_rule(r) for r in hc.get("DeviceCgroupRules") or []]
    nnp = opts.no_new_privileges
    masked, readonly = hc.get("MaskedPaths"), hc.get("ReadonlyPaths")
    return {
        "seccomp": section,
        "no_new_privileges": daemon_nnp if nnp is None else nnp,
        "sysctls": {k: v for k, v in (hc.get("Sysctls") or {}).items() if not _late(k)},
        "devices": devices,
        "device_cgroup_rules": rules,
        "masked_paths": None if masked is None else list(masked),
        "readonly_paths": None if readonly is None else list(readonly),
        "apparmor_profile": (opts.apparmor or None) if apparmor_enabled() else None,
    }
