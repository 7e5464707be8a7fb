"""``--cache-from``: the classic builder's cache limited to the images the build names.

Without sources every local cache hit counts.  With them (dockerd's ``imageCache``), a local
hit counts only when it is one of the sources or an image a source was built on; a source
whose name does not resolve is left out, so naming only missing images means no cache at
all.  A source without a local parent chain (a pulled image) still serves hits by its
history: when the step's ``created_by`` is the next entry of a source whose history and
layers begin with the current stage's, that entry (and its layer) is taken over into a new
image on top of the stage, and the rest of the build only follows that one source.
"""

from __future__ import annotations

import json
from typing import Any

from cove.errors import CoveError, NotFound
from cove.image.base import Image, ImageStore
from cove.util.jsontypes import Json


class CacheSources:
    def __init__(self, images: ImageStore, refs: list[str]) -> None:
        self.images = images
        self.targets: list[Image] = []
        self.lineage: set[str] = set()  # the sources and every image they were built on
        for ref in refs:
            try:
                img = images.resolve(ref)
            except NotFound:
                continue  # dockerd skips a source it cannot find
            self.targets.append(img)
            current: str | None = img.id
            while current is not None and current not in self.lineage:
                self.lineage.add(current)
                current = images.parent(current)

    def allows(self, image_id: str) -> bool:
        return image_id in self.lineage

    def match(self, stage_config: Json, parent: str | None, created_by: str) -> str | None:
        """An image for this step taken from a source's history, or None.

        ``stage_config`` is the stage's config as the step leaves it (history and layers
        still those of ``parent``)."""
        history = list(stage_config.get("history") or [])
        diff_ids = list(stage_config.get("rootfs", {}).get("diff_ids") or [])
        n = len(history)
        for target in self.targets:
            t_hist = list(target.config.get("history") or [])
            if not _valid_parent(t_hist, target.diff_ids, history, diff_ids):
                continue
            entry = t_hist[n]
            if not isinstance(entry, dict) or entry.get("created_by") != created_by:
                continue
            if len(t_hist) - 1 == n:
                return target.id  # the source itself is this step's image
            layer = _layer_at(t_hist, target.diff_ids, n)
            cfg = dict(stage_config)
            cfg["history"] = [*history, entry]
            cfg["rootfs"] = {"type": "layers", "diff_ids": diff_ids + ([layer] if layer else [])}
            if entry.get("created"):
                cfg["created"] = entry["created"]
            raw = json.dumps(cfg, separators=(",", ":")).encode()
            try:
                img = self.images.create_raw(raw, parent)
            except CoveError:
                continue
            self.targets = [target]  # as dockerd: no jumping between sources mid-build
            return img.id
        return None


def _valid_parent(
    t_hist: list[Any], t_diffs: list[str], history: list[Any], diff_ids: list[str]
) -> bool:
    """The source's history and layers start with the stage's (and go further)."""
    if not t_hist:
        return False
    if not history and not diff_ids:
        return True
    if len(history) >= len(t_hist) or len(diff_ids) > len(t_diffs):
        return False
    return t_hist[: len(history)] == history and t_diffs[: len(diff_ids)] == diff_ids


def _layer_at(history: list[Any], diff_ids: list[str], index: int) -> str | None:
    """The diff ID history entry ``index`` added, None for a config-only entry."""
    if isinstance(history[index], dict) and history[index].get("empty_layer"):
        return None
    layer = sum(1 for h in history[:index] if not (isinstance(h, dict) and h.get("empty_layer")))
    return diff_ids[layer] if layer < len(diff_ids) else None
