"""Docker image configs for ``import`` (and ``commit``): pure builders, no disk.

``import_config`` makes the config dockerd writes for ``docker import``: the host's
architecture in Go's naming, ``os: linux``, an RFC 3339 creation time with nanoseconds, one
history entry ``Imported from -`` (or the user's message), the layer's diff ID, and the
container config after the ``-c`` changes (``apply_changes``).
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from typing import Any

from cove.image.changes import apply_changes
from cove.util.timefmt import rfc3339_nano

__all__ = ["apply_changes", "empty_container_config", "goarch", "import_config", "rfc3339_nano"]

_GOARCH = {
    "x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
    "armv7l": "arm", "armv6l": "arm", "i386": "386", "i686": "386", "ppc64le": "ppc64le",
    "s390x": "s390x", "riscv64": "riscv64", "mips64": "mips64le", "loongarch64": "loong64",
}  # fmt: skip


def goarch(machine: str | None = None) -> str:
    """``platform.machine()`` in Go's GOARCH spelling, as image configs use it."""
    m = (machine if machine is not None else platform.machine()).lower()
    return _GOARCH.get(m, m)


def empty_container_config() -> dict[str, Any]:
    """The ``config`` section dockerd writes for an image without settings."""
    return {
        "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
        "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False,
        "StdinOnce": False, "Env": None, "Cmd": None, "Image": "", "Volumes": None,
        "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None,
    }  # fmt: skip


def import_config(
    diff_ids: Sequence[str],
    *,
    changes: Sequence[str] = (),
    message: str | None = None,
    source: str = "-",
    author: str | None = None,
    created: str | None = None,
) -> dict[str, Any]:
    """The image config of an imported rootfs (``source`` is "-" for stdin, or a URL)."""
    created = created or rfc3339_nano()
    comment = message or f"Imported from {source}"
    config: dict[str, Any] = {"architecture": goarch()}
    if author:
        config["author"] = author
    config.update(
        {
            "comment": comment,
            "config": apply_changes(empty_container_config(), list(changes)),
            "created": created,
            "history": [{"created": created, "comment": comment}],
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        }
    )
    return config
