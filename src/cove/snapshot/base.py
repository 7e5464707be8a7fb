"""Snapshotters: layer directories and container writable layers, returned as mounts (data).

Layers are keyed by their ChainID hex.  ``apply_layer`` unpacks a layer tar on top of its
parent and publishes the result atomically (extract to a temp dir, rename), so a crash leaves
no half-applied layer visible.  Performing a mount is the job of ``cove.snapshot.mount``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class Mount:
    type: str  # "overlay" or "bind"
    source: str
    options: tuple[str, ...]


class Snapshotter(Protocol):
    name: str  # "overlay2" / "native"

    def has_layer(self, key: str) -> bool: ...

    def apply_layer(self, key: str, parent: str | None, tar: BinaryIO) -> int:
        """Unpack ``tar`` (an uncompressed layer tar, Docker/OCI whiteouts) as layer ``key`` on
        top of ``parent``; returns the layer's size in bytes.  Hostile paths (``..``, absolute
        symlinks leading out) are refused with InvalidArgument and nothing is published."""
        ...

    def remove_layer(self, key: str) -> None: ...

    def layer_keys(self) -> list[str]: ...

    def prepare(self, cid: str, parent: str | None) -> list[Mount]:
        """Create the writable layer of container ``cid`` over layer ``parent``; the mounts
        that make its root filesystem."""
        ...

    def mounts(self, cid: str) -> list[Mount]: ...

    def upper_dir(self, cid: str) -> str:
        """The directory holding the container's changes (its diff)."""
        ...

    def remove(self, cid: str) -> None: ...
