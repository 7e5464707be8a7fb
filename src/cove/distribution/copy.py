"""The copy engine: every image of a source into a destination, layer by layer.

Layers a destination already has (the same chain of diff IDs) are not transferred; a layer
shared by several images of one copy is transferred once.  The layer limit is checked for
every image before the first byte moves.  Any failure aborts the destination, so a copy
is all or nothing; the source is always closed.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from cove.distribution.base import MAX_LAYERS, ImageDestination, ImageSource, Layer, SourceImage
from cove.errors import InvalidArgument

# progress(event, image, layer): "skip" (already there), "layer" (before a transfer),
# "image" (recorded).
Progress = Callable[[str, SourceImage, Layer | None], None]


def check_depth(image: SourceImage) -> None:
    n = len(image.layers)
    if n > MAX_LAYERS:
        raise InvalidArgument(
            f"max depth exceeded: an image has at most {MAX_LAYERS} layers, this one has {n}"
        )


def diff_ids_of(config: bytes) -> list[str]:
    try:
        data = json.loads(config)
        ids = data["rootfs"]["diff_ids"]
        if not isinstance(ids, list) or not all(isinstance(d, str) for d in ids):
            raise TypeError("diff_ids is not a list of strings")
        return list(ids)
    except (ValueError, KeyError, TypeError) as e:
        raise InvalidArgument(f"invalid image config: {e}") from None


def copy_images(
    src: ImageSource, dst: ImageDestination, progress: Progress | None = None
) -> list[tuple[SourceImage, str]]:
    """Copy everything ``src`` offers; returns each image with its ID at the destination."""
    done: list[tuple[SourceImage, str]] = []
    try:
        images = src.images()
        for image in images:
            check_depth(image)
        for image in images:
            parents: list[str] = []
            for layer in image.layers:
                chain = [*parents, layer.diff_id]
                if dst.has_layers(chain):
                    if progress:
                        progress("skip", image, layer)
                else:
                    if progress:
                        progress("layer", image, layer)
                    with src.open_layer(image, layer) as data:
                        dst.put_layer(image, layer, parents, data)
                parents = chain
            image_id = dst.put_image(image)
            done.append((image, image_id))
            if progress:
                progress("image", image, None)
        dst.commit()
    except BaseException:
        dst.abort()
        raise
    finally:
        src.close()
    return done
