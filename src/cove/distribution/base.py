"""Transports: where images come from and go to, behind two small Protocols.

``save`` and ``load`` are one copy (``cove.distribution.copy``) between an ``ImageSource``
and an ``ImageDestination``:

=========  =============================  ==============================
operation  source                         destination
=========  =============================  ==============================
save       local store                    docker-archive (a tar stream)
load       docker-archive / oci-archive   local store
=========  =============================  ==============================

Registry pull and push (``cove.distribution.registry``) do not go through this copy: they
download layers in parallel and unpack each as soon as the ones below it are in, and
upload with existence checks and cross-repository mounts, which the one-layer-at-a-time
copy has no place for.

A source lists its images (exact config bytes, layer descriptors, names) and opens a
layer's bytes on demand; a destination says which layers it already has (so they are not
transferred again), takes layers, then images, and finally ``commit``s: before that,
nothing it received may be visible (``abort`` discards it).  Errors are ``cove.errors``
categories; transports never talk HTTP statuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

# Media types a layer may have in a manifest (OCI and Docker's v2 schema 2).
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"

MAX_LAYERS = 127  # every transport refuses deeper images before writing anything


@dataclass(frozen=True)
class Layer:
    """One layer as a source holds it.  ``digest``/``size`` describe the bytes the source
    hands out (compressed or not, ``size`` -1 when unknown); ``diff_id`` is the digest of
    the uncompressed tar (from the image config: always known once the config is read)."""

    diff_id: str
    digest: str = ""
    size: int = -1
    media_type: str = OCI_LAYER


@dataclass
class SourceImage:
    """An image a source offers: its config exactly as stored (the image ID is its
    digest), its layers bottom first, and the names to give it at the destination."""

    config: bytes
    layers: list[Layer]
    names: list[str] = field(default_factory=list)  # normalised or familiar references
    manifest: bytes | None = None  # the source's manifest, when it has one (registries)
    manifest_media_type: str = ""


class ImageSource(Protocol):
    def images(self) -> list[SourceImage]:
        """Every image to copy.  May read (an archive: up to its manifest) and fail with
        InvalidArgument for a malformed or truncated source, before anything is copied."""
        ...

    def open_layer(self, image: SourceImage, layer: Layer) -> BinaryIO:
        """The layer's bytes (compressed as ``layer.media_type`` says)."""
        ...

    def close(self) -> None:
        """Release temp files and connections; idempotent."""
        ...


class ImageDestination(Protocol):
    def has_layers(self, diff_ids: list[str]) -> bool:
        """True when the chain ``diff_ids`` (bottom first) is already stored: the copy
        skips its top layer's bytes."""
        ...

    def put_layer(
        self, image: SourceImage, layer: Layer, parents: list[str], data: BinaryIO
    ) -> str:
        """Store one layer on top of the chain ``parents`` (diff IDs); returns its diff
        ID, verified against ``layer.diff_id``."""
        ...

    def put_image(self, image: SourceImage) -> str:
        """Record the image (all its layers were put or present); returns its ID.  Names
        are applied at ``commit``."""
        ...

    def commit(self) -> None:
        """Make everything received visible (names last)."""
        ...

    def abort(self) -> None:
        """Discard what was received and not committed; idempotent."""
        ...
