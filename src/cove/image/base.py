"""Image records: configs in the content store, names pointing at image IDs.

An image ID is the digest of its config blob, as Docker's.  Layers live in the snapshotter,
keyed by ChainID; the uncompressed layer tars stay in the content store under their diff IDs
so ``save`` and ``push`` can hand them out unchanged.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from cove.store.base import BlobStore


@dataclass
class Image:
    id: str  # "sha256:<hex>" = digest of the config
    config: dict[str, Any]  # the OCI/Docker image config JSON
    repo_tags: list[str] = field(default_factory=list)  # familiar names, "busybox:latest"
    repo_digests: list[str] = field(default_factory=list)
    size: int = 0  # sum of the layer sizes unpacked

    @property
    def diff_ids(self) -> list[str]:
        return list(self.config.get("rootfs", {}).get("diff_ids", []))

    @property
    def top_layer(self) -> str | None:
        """Snapshot key (ChainID hex) of the top layer, None for an image without layers."""
        from cove.oci.digest import chain_ids

        c = chain_ids(self.diff_ids)
        return c[-1][7:] if c else None


class Transaction(Protocol):
    """New images and names that become visible together, or not at all (crash included)."""

    def create_raw(self, raw: bytes, parent: str | None = None) -> Image: ...

    def tag(self, image_id: str, ref: str) -> None:
        """Applied at ``commit``."""
        ...

    def commit(self) -> builtins.list[tuple[str, str, str | None]]:
        """Returns (familiar reference, image ID, the ID the name pointed at before)."""
        ...

    def abort(self) -> None: ...

    def __enter__(self) -> Transaction: ...

    def __exit__(self, exc_type: Any, *rest: object) -> None:
        """Aborts unless committed."""
        ...


class ImageStore(Protocol):
    blobs: BlobStore  # where configs and layer blobs live (save, push and pull use it)

    def names(self) -> dict[str, str]:
        """Every name (``repo:tag`` and ``repo@digest``) and the image ID it points at."""
        ...

    def record(self, image_id: str) -> dict[str, Any]:
        """The store's own record of an image (its layers with their sizes)."""
        ...

    def add_layer_file(self, path: str, parent_diff_ids: list[str], diff_id: str) -> str:
        """``add_layer`` from an uncompressed tar already on disk, adopted without a copy
        when it is on the same filesystem; returns the chain ID."""
        ...

    def resolve(self, ref: str) -> Image:
        """By name[:tag], name@digest, full ID, ``sha256:`` ID, or a unique ID prefix.
        Raises NotFound("No such image: <ref>")."""
        ...

    def list(self) -> list[Image]: ...

    def add_layer(
        self, tar: BinaryIO, parent_diff_ids: builtins.list[str], diff_id: str | None = None
    ) -> str:
        """Store a layer tar (plain, gzip, bzip2, xz, zstd: decompressed on the fly) as blob +
        snapshot on top of the given chain; returns its diff ID, verified against ``diff_id``
        when the caller knows it.  Already-present layers are deduplicated.  More than 127
        layers in the chain: InvalidArgument("max depth exceeded ..."), nothing written."""
        ...

    def create(self, config: dict[str, Any]) -> Image:
        """Record an image whose layers are all present; returns it (idempotent)."""
        ...

    def create_raw(self, raw: bytes, parent: str | None = None) -> Image:
        """``create`` from the exact config bytes (pull/load: the ID must not change)."""
        ...

    def transaction(self) -> Transaction: ...

    def parent(self, image_id: str) -> str | None:
        """The image this one was committed or built on, when it is still stored."""
        ...

    def children(self, image_id: str) -> builtins.list[str]: ...

    def add_repo_digest(self, image_id: str, ref: str) -> None:
        """Remember ``repo@sha256:...`` (a pulled manifest's digest) for an image."""
        ...

    def tag(self, image_id: str, ref: str) -> None: ...

    def last_tagged(self, image_id: str) -> str | None:
        """When a name was last given to the image (RFC 3339, UTC), None if never."""
        ...

    def untag(self, ref: str) -> str:
        """Remove a name; returns the image ID it pointed at."""
        ...

    def delete(self, image_id: str) -> builtins.list[str]:
        """Remove the image record (and names still on it) and layers no other image uses;
        returns deleted IDs.  Docker's rmi rules (untag first, refuse when a container
        uses the image) are the engine's."""
        ...

    def gc(self, keep: Iterable[str] = ()) -> dict[str, int]:
        """Remove unreferenced snapshots and blobs (except ``keep``) and temp leftovers."""
        ...
