"""Snapshotters: layer directories and container writable layers, returned as mounts (data).

Layers are keyed by their ChainID hex.  ``apply_layer`` unpacks a layer tar on top of its
parent and publishes the result atomically (extract to a temp dir, rename), so a crash leaves
no half-applied layer visible.  Performing a mount is the job of ``cove.snapshot.mount``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from cove.snapshot.diff import Change


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
        top of ``parent``; returns the layer's size in bytes.  Hostile entries (``../x``, a
        path through a symlink, a hard link to a missing file) are refused with
        InvalidArgument and nothing is published; absolute names land inside the layer and
        symlink targets are kept verbatim (never followed).  An existing ``key`` is left as
        it is (``tar`` is not read) and its size returned."""
        ...

    def layer_size(self, key: str) -> int:
        """The unpacked size recorded by ``apply_layer``; NotFound when absent."""
        ...

    def remove_layer(self, key: str) -> None:
        """Idempotent; Conflict while a layer or container is built on ``key``."""
        ...

    def layer_keys(self) -> list[str]: ...

    def prepare(self, cid: str, parent: str | None) -> list[Mount]:
        """Create the writable layer of container ``cid`` over layer ``parent`` (None: an
        empty root); the mounts that make its root filesystem.  Idempotent for the same
        parent; Conflict for another one; NotFound for a missing parent layer."""
        ...

    def mounts(self, cid: str) -> list[Mount]: ...

    def mount_point(self, cid: str) -> str:
        """An empty directory made by ``prepare`` where the engine may mount the rootfs."""
        ...

    def upper_dir(self, cid: str) -> str:
        """The directory holding the container's changes: overlay2's upper dir (its diff,
        with overlay whiteouts); for native the whole root filesystem."""
        ...

    def changes(self, cid: str) -> list[Change]:
        """The container's changes against its parent layer, sorted by path (see
        ``cove.snapshot.diff``); their content is read below ``upper_dir(cid)``."""
        ...

    def remove(self, cid: str) -> None:
        """Idempotent; Conflict while anything is still mounted inside the container's dir."""
        ...

    def container_ids(self) -> list[str]:
        """Every container that has a writable layer (the daemon drops those it has no
        record of: a create or remove cut short)."""
        ...

    def cleanup(self) -> int:
        """Delete leftovers of interrupted operations; call at daemon start only."""
        ...
