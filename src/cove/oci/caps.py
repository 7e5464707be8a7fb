"""Linux capabilities: names, Docker's default set, --cap-add/--cap-drop, host clamping.

Pure functions.  Capability names are spelled as the OCI runtime spec wants them
(``CAP_NET_ADMIN``); user input may omit the prefix and use any case, as docker accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cove.errors import InvalidArgument

# Indexed by capability number (linux/capability.h), so a CapBnd mask decodes by position.
ALL_CAPS: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)

# moby's oci.DefaultCapabilities(), in its order.
DEFAULT_CAPS: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

_KNOWN = frozenset(ALL_CAPS)


def caps_from_mask(mask: int) -> frozenset[str]:
    """Decode a capability bitmask (``CapBnd`` in /proc/<pid>/status); unknown bits are
    ignored (a newer kernel than this table)."""
    return frozenset(name for bit, name in enumerate(ALL_CAPS) if mask >> bit & 1)


def normalize(names: Iterable[str]) -> list[str]:
    """``net_admin`` -> ``CAP_NET_ADMIN``; ``all`` -> ``ALL``.  Unknown names are rejected
    with docker's words."""
    out: list[str] = []
    for raw in names:
        name = raw.strip().upper()
        if name == "ALL":
            out.append(name)
            continue
        if not name.startswith("CAP_"):
            name = "CAP_" + name
        if name not in _KNOWN:
            raise InvalidArgument(f'unknown capability: "{name}"')
        out.append(name)
    return out


def tweak(
    cap_add: Sequence[str] = (),
    cap_drop: Sequence[str] = (),
    privileged: bool = False,
    host: frozenset[str] | None = None,
    base: Sequence[str] = DEFAULT_CAPS,
) -> list[str]:
    """The container's capability list, following moby's TweakCapabilities, then clamped
    to ``host`` (the bounding set the daemon runs with): asking the runtime for a
    capability the host does not have makes it fail ("unable to apply caps"), so, as
    podman does, cove keeps what the host can give.  ``ALL`` means every capability the
    host knows (all of ALL_CAPS when ``host`` is None)."""
    everything = [c for c in ALL_CAPS if host is None or c in host]
    if privileged:
        return everything
    adds, drops = normalize(cap_add), normalize(cap_drop)
    if "ALL" in adds:
        caps = [c for c in everything if c not in drops]
    elif "ALL" in drops:
        caps = [c for c in adds if c != "ALL"]
    else:
        caps = [c for c in base if c not in drops] + adds
    seen: set[str] = set()
    out: list[str] = []
    for c in caps:
        if c not in seen and (host is None or c in host):
            seen.add(c)
            out.append(c)
    return out


def capability_object(caps: Sequence[str], uid: int) -> dict[str, list[str]]:
    """OCI ``process.capabilities`` as moby's SetCapabilities writes it: root gets the
    list in bounding, effective and permitted; another user only the bounding set (what
    execve would leave it).  No inheritable set (CVE-2022-24769)."""
    if uid == 0:
        return {"bounding": list(caps), "effective": list(caps), "permitted": list(caps)}
    return {"bounding": list(caps)}
