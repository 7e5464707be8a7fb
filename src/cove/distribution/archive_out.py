"""``save``'s destination: a docker-archive that is an OCI image layout at the same time.

What recent Docker writes and every loader reads: ``blobs/sha256/<hex>`` for layer tars
(uncompressed), configs and OCI manifests; ``index.json`` and ``oci-layout`` (the OCI
side: skopeo's ``oci-archive:``, containerd); ``manifest.json`` (the docker-archive side:
``Config``, ``RepoTags``, ``Layers`` as paths into ``blobs/``, read by dockerd 20.10 and
podman) and the legacy ``repositories`` map.  The tar is written as a stream, each blob
once, with plain USTAR headers; nothing is buffered beyond one chunk.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable
from typing import Any, BinaryIO

from cove.distribution.base import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    Layer,
    SourceImage,
)
from cove.oci import reference
from cove.oci.digest import hex_of, sha256_bytes

_CHUNK = 1 << 20
_MTIME = 0  # reproducible archives: the same images give the same bytes


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class ArchiveWriter:
    """Implements ``ImageDestination``; ``write`` receives the tar's bytes in order."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write
        self._blobs: set[str] = set()
        self._index: list[dict[str, Any]] = []
        self._manifest: list[dict[str, Any]] = []
        self._repos: dict[str, dict[str, str]] = {}
        self._done = False
        self._add_bytes("oci-layout", _json({"imageLayoutVersion": "1.0.0"}))

    # --- tar ------------------------------------------------------------------------------
    def _header(self, name: str, size: int, directory: bool = False) -> None:
        info = tarfile.TarInfo(name)
        info.size = 0 if directory else size
        info.mode = 0o755 if directory else 0o644
        info.mtime = _MTIME
        info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
        self._write(info.tobuf(tarfile.USTAR_FORMAT))

    def _pad(self, size: int) -> None:
        if size % 512:
            self._write(b"\0" * (512 - size % 512))

    def _add_bytes(self, name: str, data: bytes) -> None:
        self._header(name, len(data))
        self._write(data)
        self._pad(len(data))

    def _add_stream(self, name: str, src: BinaryIO, size: int) -> None:
        self._header(name, size)
        left = size
        while left > 0:
            chunk = src.read(min(_CHUNK, left))
            if not chunk:
                raise OSError(f"{name}: the blob is shorter than its recorded size")
            self._write(chunk)
            left -= len(chunk)
        self._pad(size)

    def _blob(self, digest: str, data: bytes) -> None:
        if digest not in self._blobs:
            self._blobs.add(digest)
            self._add_bytes("blobs/sha256/" + hex_of(digest), data)

    # --- ImageDestination -----------------------------------------------------------------
    def has_layers(self, diff_ids: list[str]) -> bool:
        return diff_ids[-1] in self._blobs

    def put_layer(
        self, image: SourceImage, layer: Layer, parents: list[str], data: BinaryIO
    ) -> str:
        if layer.media_type != OCI_LAYER or layer.size < 0:
            raise ValueError("the archive takes uncompressed layers of known size")
        if not self._blobs:
            self._header("blobs", 0, directory=True)
            self._header("blobs/sha256", 0, directory=True)
        self._blobs.add(layer.diff_id)
        self._add_stream("blobs/sha256/" + hex_of(layer.diff_id), data, layer.size)
        return layer.diff_id

    def put_image(self, image: SourceImage) -> str:
        config_digest = sha256_bytes(image.config)
        self._blob(config_digest, image.config)
        manifest = _json(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": OCI_CONFIG,
                    "digest": config_digest,
                    "size": len(image.config),
                },
                "layers": [
                    {"mediaType": OCI_LAYER, "digest": x.diff_id, "size": x.size}
                    for x in image.layers
                ],
            }
        )
        manifest_digest = sha256_bytes(manifest)
        self._blob(manifest_digest, manifest)
        desc = {"mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": len(manifest)}
        tags = [reference.parse(n) for n in image.names]
        for ref in tags:
            self._index.append(
                {
                    **desc,
                    "annotations": {
                        "io.containerd.image.name": str(ref),
                        "org.opencontainers.image.ref.name": ref.tag or "latest",
                    },
                }
            )
            top = hex_of(image.layers[-1].diff_id) if image.layers else hex_of(config_digest)
            self._repos.setdefault(ref.familiar_repository, {})[ref.tag or "latest"] = top
        if not tags:
            self._index.append(desc)
        self._manifest.append(
            {
                "Config": "blobs/sha256/" + hex_of(config_digest),
                "RepoTags": [r.familiar() for r in tags] or None,
                "Layers": ["blobs/sha256/" + hex_of(x.diff_id) for x in image.layers],
            }
        )
        return config_digest

    def commit(self) -> None:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self._index}
        self._add_bytes("index.json", _json(index))
        self._add_bytes("manifest.json", _json(self._manifest))
        if self._repos:
            self._add_bytes("repositories", _json(self._repos))
        self._write(b"\0" * 1024)  # two zero blocks end a tar
        self._done = True

    def abort(self) -> None:
        """A stream cannot be taken back: the reader sees a truncated tar, which every
        loader refuses."""
        self._done = True
