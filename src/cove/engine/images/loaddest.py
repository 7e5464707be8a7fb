"""``docker load``'s destination: the local store, taking the archive's spooled layers.

A module of its own so that export.py can import the copy engine (cove.distribution) at a
save's or load's first use: a daemon that never saves or loads never loads it.
"""

from __future__ import annotations

from typing import BinaryIO

from cove.distribution.archive_in import ArchiveSource
from cove.distribution.base import Layer, SourceImage
from cove.distribution.local import LocalDestination
from cove.image.base import ImageStore


class LoadDestination(LocalDestination):
    """The local store, adopting spooled uncompressed layer files as blobs (no copy)."""

    def __init__(self, store: ImageStore, source: ArchiveSource) -> None:
        super().__init__(store)
        self.source = source

    def put_layer(
        self, image: SourceImage, layer: Layer, parents: list[str], data: BinaryIO
    ) -> str:
        path = self.source.spooled_path(layer)
        if path is not None and layer.digest == layer.diff_id:
            self._txn()
            return self.store.add_layer_file(path, parents, layer.diff_id)
        return super().put_layer(image, layer, parents, data)
