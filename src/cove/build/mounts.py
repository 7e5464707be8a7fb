"""``RUN --mount=...`` and ``RUN --network=...`` read as BuildKit reads them.  Pure.

A mount spec is a comma-separated list of ``key=value`` fields (csv quoting allowed);
``type`` is bind (the default), cache, tmpfs, secret or ssh.  Errors are BuildKit's words.
"""

from __future__ import annotations

import csv
import posixpath
import re
from dataclasses import dataclass

from cove.build.backend import BuildError

TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING = ("shared", "private", "locked")
NETWORKS = ("default", "none", "host")
_KEYS = {
    "type", "target", "dst", "destination", "source", "src", "from", "ro", "readonly", "rw",
    "readwrite", "id", "sharing", "mode", "uid", "gid", "size", "required", "env",
}  # fmt: skip
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)?$", re.IGNORECASE)
_UNIT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


@dataclass
class MountSpec:
    type: str = "bind"
    target: str = ""
    source: str = ""
    src_from: str = ""  # a stage, an image or a --build-context name
    readonly: bool | None = None  # None: the type's default
    id: str = ""
    sharing: str = "shared"
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    size: int | None = None
    required: bool = False
    env: str = ""

    @property
    def writable(self) -> bool:
        if self.readonly is not None:
            return not self.readonly
        return self.type in ("cache", "tmpfs")

    def key_text(self) -> str:
        """What the step's cache key sees of this mount (never a secret's value)."""
        return (
            f"{self.type},{self.target},{self.source},{self.src_from},{self.id},"
            f"{self.writable},{self.env}"
        )


def _bool(key: str, value: str | None) -> bool:
    if value is None:
        return True
    low = value.lower()
    if low in ("1", "t", "true"):
        return True
    if low in ("0", "f", "false"):
        return False
    raise BuildError(f'invalid value for {key}: strconv.ParseBool: parsing "{value}": '
                     "invalid syntax")  # fmt: skip


def _int(key: str, value: str, base: int = 10) -> int:
    try:
        n = int(value, base)
    except ValueError:
        raise BuildError(f"invalid value for {key}: {value}") from None
    if n < 0:
        raise BuildError(f"invalid value for {key}: {value}")
    return n


def parse_size(value: str) -> int:
    m = _SIZE.match(value.strip())
    if not m:
        raise BuildError(f"invalid value for size: {value}")
    return int(float(m.group(1)) * _UNIT[m.group(2).lower()])


def parse_mount(text: str, n: int = 0) -> MountSpec:
    """One ``--mount`` value; ``n`` numbers ssh mounts for their default target."""
    try:
        fields = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        raise BuildError(f"failed to parse mount {text!r}") from None
    m = MountSpec()
    for f in fields:
        key, eq, value = f.strip().partition("=")
        key = key.lower()
        val: str | None = value if eq else None
        if key not in _KEYS:
            raise BuildError(f"unexpected key '{key}' in '{f}'")
        if key in ("ro", "readonly"):
            m.readonly = _bool(key, val)
            continue
        if key in ("rw", "readwrite"):
            m.readonly = not _bool(key, val)
            continue
        if key == "required":
            m.required = _bool(key, val)
            continue
        if val is None:
            raise BuildError(f"invalid field '{f}' must be a key=value pair")
        if key == "type":
            if val not in TYPES:
                raise BuildError(f"unsupported mount type {val!r}")
            m.type = val
        elif key in ("target", "dst", "destination"):
            m.target = val
        elif key in ("source", "src"):
            m.source = val
        elif key == "from":
            m.src_from = val
        elif key == "id":
            m.id = val
        elif key == "sharing":
            if val not in SHARING:
                raise BuildError(f"unsupported sharing value {val!r}")
            m.sharing = val
        elif key == "mode":
            m.mode = _int(key, val, 8)
        elif key in ("uid", "gid"):
            setattr(m, key, _int(key, val))
        elif key == "size":
            m.size = parse_size(val)
        elif key == "env":
            m.env = val
    _defaults(m, n)
    return m


def _defaults(m: MountSpec, n: int) -> None:
    if m.type == "secret":
        if not m.id and m.target:
            m.id = posixpath.basename(m.target)
        if not m.id:
            raise BuildError("one of source, target required")
        if not m.target and not m.env:
            m.target = "/run/secrets/" + m.id
    elif m.type == "ssh":
        m.id = m.id or "default"
        m.target = m.target or f"/run/buildkit/ssh_agent.{n}"
    elif not m.target:
        raise BuildError("mount destination not specified")
    elif m.type == "cache":
        m.id = m.id or m.target
    if m.type not in ("bind", "cache") and m.src_from:
        raise BuildError(f"unexpected key 'from' for mount type {m.type}")
    if m.type != "tmpfs" and m.size is not None:
        raise BuildError(f"unexpected key 'size' for mount type {m.type}")


def parse_network(value: str) -> str:
    if value not in NETWORKS:
        raise BuildError(f"unsupported network mode {value!r}: use one of none, host, default")
    return value
