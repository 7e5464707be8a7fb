"""``docker import``: a one-layer image from a (possibly compressed) rootfs tar."""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO

from cove.errors import InvalidArgument
from cove.image.base import Image, ImageStore
from cove.image.config import apply_changes, empty_container_config, import_config
from cove.oci.reference import parse


def import_rootfs(
    store: ImageStore,
    fileobj: BinaryIO,
    changes: Sequence[str] = (),
    message: str | None = None,
    repo_tag: str | None = None,
    source: str = "-",
) -> Image:
    """Store ``fileobj`` as the single layer of a new image and name it ``repo_tag``.

    The changes are checked before the tar is read (a bad ``-c`` costs nothing); an
    interrupted import leaves only unreferenced data that the store's gc removes."""
    apply_changes(empty_container_config(), list(changes))
    if repo_tag is not None and parse(repo_tag).digest:
        raise InvalidArgument("refusing to create a tag with a digest reference")
    diff_id = store.add_layer(fileobj, [])
    image = store.create(import_config([diff_id], changes=changes, message=message, source=source))
    if repo_tag is not None:
        store.tag(image.id, repo_tag)
        image = store.resolve(image.id)
    return image
