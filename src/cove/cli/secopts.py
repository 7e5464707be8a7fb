"""``--security-opt``, ``--sysctl`` and ``--device-cgroup-rule`` as the docker CLI reads them.

The docker CLI does some of the work before the daemon sees a request: it reads a seccomp
profile named by path and sends its JSON inline (``seccomp=<json>``), turns
``systempaths=unconfined`` into empty masked and read-only path lists, and refuses sysctls
outside the namespaced ones.  cove does the same, with the same words.
"""

from __future__ import annotations

import json
import re

_SYSCTL_NAMES = frozenset(
    ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
     "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced", "kernel.domainname")
)  # fmt: skip
_SYSCTL_PREFIXES = ("net.", "fs.mqueue.")
_CGROUP_RULE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")


def check_sysctl(text: str) -> None:
    """A ``--sysctl`` value: ``name=value`` with a name the kernel namespaces."""
    name, eq, _ = text.partition("=")
    if not eq or not (name in _SYSCTL_NAMES or name.startswith(_SYSCTL_PREFIXES)):
        raise ValueError(f"sysctl '{text}' is not allowed")


def check_cgroup_rule(text: str) -> None:
    if not _CGROUP_RULE.match(text):
        raise ValueError(f"invalid device cgroup format '{text}'")


def _inline_profile(path: str) -> str:
    try:
        with open(path, "rb") as f:
            raw = f.read(8 << 20)
    except OSError as e:
        reason = (e.strerror or str(e)).lower()
        raise ValueError(
            f"opening seccomp profile ({path}) failed: open {path}: {reason}"
        ) from None
    try:
        doc = json.loads(raw)
    except ValueError as e:
        raise ValueError(f"compacting json for seccomp profile ({path}) failed: {e}") from None
    return json.dumps(doc, separators=(",", ":"))


def security_opts(opts: list[str]) -> tuple[list[str], bool]:
    """The SecurityOpt list to send, and whether ``systempaths=unconfined`` was asked
    (then the request carries empty MaskedPaths and ReadonlyPaths instead)."""
    out: list[str] = []
    unconfined_paths = False
    for opt in opts:
        if opt == "systempaths=unconfined":
            unconfined_paths = True
            continue
        key, sep, value = opt.partition("=")
        if not sep and key != "no-new-privileges":
            key, sep, value = opt.partition(":")
        if (not sep or not value) and key != "no-new-privileges":
            raise ValueError(f'Invalid --security-opt: "{opt}"')
        if key == "seccomp" and value not in ("builtin", "unconfined"):
            opt = "seccomp=" + _inline_profile(value)
        out.append(opt)
    return out, unconfined_paths
