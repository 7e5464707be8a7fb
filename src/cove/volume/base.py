"""Volume drivers: named directories that outlive containers, behind one small Protocol.

A driver keeps each volume's metadata (created time, labels, driver options) and hands out a
host directory for it.  ``mount``/``unmount`` are reference-counted by the id of the user (a
container): a volume whose options say it is a filesystem of its own (``-o type=tmpfs``,
``-o type=none,o=bind,device=/srv``) is mounted for its first user and unmounted after its
last one; a plain volume is just its ``_data`` directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from cove.util.jsontypes import Json

ANONYMOUS_LABEL = "com.docker.volume.anonymous"


@dataclass
class Volume:
    name: str
    driver: str
    mountpoint: str
    created_at: str  # RFC 3339 with the local offset, as dockerd prints it
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    scope: str = "local"

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in self.labels

    def inspect(self) -> Json:
        """``GET /volumes/{name}``: Docker's volume object."""
        return {
            "CreatedAt": self.created_at,
            "Driver": self.driver,
            "Labels": dict(self.labels) or None,
            "Mountpoint": self.mountpoint,
            "Name": self.name,
            "Options": dict(self.options) or None,
            "Scope": self.scope,
        }


class VolumeDriver(Protocol):
    name: str  # "local"

    def create(self, name: str, options: dict[str, str], labels: dict[str, str]) -> Volume:
        """A new volume, or the existing one of that name (as dockerd: a second create is not
        an error).  InvalidArgument for a bad name or unknown option; nothing is left behind
        on failure."""
        ...

    def get(self, name: str) -> Volume:
        """NotFound("get <name>: no such volume")."""
        ...

    def list(self) -> list[Volume]: ...

    def remove(self, name: str) -> None:
        """Delete the volume and its data; NotFound when absent.  The caller checks that no
        container uses it; a volume still mounted is unmounted first."""
        ...

    def mount(self, name: str, ref: str) -> str:
        """The host directory holding the volume's data, mounted when its options ask for
        a filesystem; idempotent per ``ref``."""
        ...

    def unmount(self, name: str, ref: str) -> None:
        """Drop ``ref``; the last one out unmounts.  Idempotent."""
        ...

    def size(self, name: str) -> int:
        """Bytes used by the volume's files (``system df``, prune's SpaceReclaimed)."""
        ...
