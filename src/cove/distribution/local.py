"""The local image store as a transport: the source of ``save``/``push``, the destination
of ``load``/``pull``.

``LocalSource`` resolves names as ``docker save`` does: ``name:tag`` and IDs name one image,
a bare repository name means every tag of it; the layer bytes are the stored uncompressed
tars.  ``LocalDestination`` writes through an image-store transaction: layers are
deduplicated against the store, images are journalled, and names are applied together at
``commit`` (a crash before that leaves nothing visible: ``cove.image.txn``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import BinaryIO

from cove.distribution.base import OCI_LAYER, Layer, SourceImage
from cove.errors import InvalidArgument
from cove.image.base import ImageStore, Transaction
from cove.oci import reference
from cove.store.base import BlobProvider


class LocalSource:
    def __init__(self, store: ImageStore, blobs: BlobProvider, names: Iterable[str]) -> None:
        self.store = store
        self.blobs = blobs
        self.refs = list(names)
        self._images: list[SourceImage] | None = None

    def _names(self) -> dict[str, list[str]]:
        """Image ID -> the familiar names to save it under, in the order asked."""
        out: dict[str, list[str]] = {}

        def add(image_id: str, name: str | None) -> None:
            names = out.setdefault(image_id, [])
            if name is not None and name not in names:
                names.append(name)

        for ref in self.refs:
            try:
                parsed: reference.Reference | None = reference.parse(ref, default_tag=None)
            except InvalidArgument:
                parsed = None
            if parsed is not None and parsed.tag is None and parsed.digest is None:
                repo = parsed.familiar_repository  # a bare name: every tag of it
                hits = [(img.id, t) for img in self.store.list() for t in img.repo_tags
                        if t.rsplit(":", 1)[0] == repo]  # fmt: skip
                for image_id, tag in hits:
                    add(image_id, tag)
                if not hits:
                    add(self.store.resolve(ref).id, None)  # an ID prefix
                continue
            img = self.store.resolve(ref)  # NotFound("No such image: x")
            add(img.id, parsed.familiar() if parsed is not None and parsed.tag else None)
        return out

    def images(self) -> list[SourceImage]:
        """Resolved once: a caller may check the names before the copy starts."""
        if self._images is None:
            self._images = self._resolve()
        return self._images

    def _resolve(self) -> list[SourceImage]:
        out: list[SourceImage] = []
        for image_id, names in self._names().items():
            raw = self.blobs.read(image_id)
            diff_ids = json.loads(raw)["rootfs"]["diff_ids"]
            layers = [Layer(d, d, self.blobs.size(d), OCI_LAYER) for d in diff_ids]
            out.append(SourceImage(raw, layers, names))
        return out

    def open_layer(self, image: SourceImage, layer: Layer) -> BinaryIO:
        return self.blobs.open(layer.diff_id)

    def close(self) -> None:
        pass


class LocalDestination:
    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self.txn: Transaction | None = None
        self.moved: list[tuple[str, str, str | None]] = []

    def _txn(self) -> Transaction:
        if self.txn is None:
            self.txn = self.store.transaction()
        return self.txn

    def has_layers(self, diff_ids: list[str]) -> bool:
        has = getattr(self.store, "has_layers", None)
        return bool(has(diff_ids)) if has is not None else False

    def put_layer(
        self, image: SourceImage, layer: Layer, parents: list[str], data: BinaryIO
    ) -> str:
        self._txn()  # journal open before the first blob: a crash is rolled back
        return self.store.add_layer(data, parents, layer.diff_id)

    def put_image(self, image: SourceImage) -> str:
        txn = self._txn()
        img = txn.create_raw(image.config)
        for name in image.names:
            txn.tag(img.id, name)
        return img.id

    def commit(self) -> None:
        if self.txn is not None:
            self.moved = self.txn.commit()

    def abort(self) -> None:
        if self.txn is not None:
            self.txn.abort()
