"""``MemorySnapshotter``: the Snapshotter Protocol with layers kept as names and sizes.

Layer content is read and dropped (only its size is kept); a container's writable layer is
a plain directory under ``root`` and its rootfs needs no mount (``mounts`` is empty), so an
engine using it runs without root.  Rules the conformance suite checks of every snapshotter
hold here too: idempotent prepare for the same parent, Conflict for another, NotFound for
a missing parent, Conflict when removing a layer something is built on.
"""

from __future__ import annotations

import os
import shutil
from typing import BinaryIO

from cove.errors import Conflict, NotFound
from cove.snapshot.base import Mount
from cove.snapshot.diff import Change


class MemorySnapshotter:
    name = "memory"

    def __init__(self, root: str) -> None:
        self.root = root
        self.layers: dict[str, tuple[str | None, int]] = {}  # key -> (parent, size)
        self.parents: dict[str, str | None] = {}  # container -> its parent layer

    def has_layer(self, key: str) -> bool:
        return key in self.layers

    def apply_layer(self, key: str, parent: str | None, tar: BinaryIO) -> int:
        if key in self.layers:
            return self.layers[key][1]
        if parent is not None and parent not in self.layers:
            raise NotFound(f"parent layer {parent} not found")
        size = 0
        while chunk := tar.read(1 << 16):
            size += len(chunk)
        self.layers[key] = (parent, size)
        return size

    def layer_size(self, key: str) -> int:
        if key not in self.layers:
            raise NotFound(f"layer {key} not found")
        return self.layers[key][1]

    def remove_layer(self, key: str) -> None:
        users = [k for k, (p, _) in self.layers.items() if p == key]
        users += [c for c, p in self.parents.items() if p == key]
        if users:
            raise Conflict(f"layer {key} is in use")
        self.layers.pop(key, None)

    def layer_keys(self) -> list[str]:
        return sorted(self.layers)

    def _dir(self, cid: str) -> str:
        return os.path.join(self.root, cid)

    def prepare(self, cid: str, parent: str | None) -> list[Mount]:
        if parent is not None and parent not in self.layers:
            raise NotFound(f"layer {parent} not found")
        if cid in self.parents and self.parents[cid] != parent:
            raise Conflict(f"container {cid} already has a layer on another parent")
        self.parents[cid] = parent
        os.makedirs(os.path.join(self._dir(cid), "merged"), exist_ok=True)
        os.makedirs(os.path.join(self._dir(cid), "diff"), exist_ok=True)
        return []

    def mounts(self, cid: str) -> list[Mount]:
        if cid not in self.parents:
            raise NotFound(f"no writable layer for {cid}")
        return []

    def mount_point(self, cid: str) -> str:
        return os.path.join(self._dir(cid), "merged")

    def upper_dir(self, cid: str) -> str:
        return os.path.join(self._dir(cid), "diff")

    def changes(self, cid: str) -> list[Change]:
        return []

    def remove(self, cid: str) -> None:
        self.parents.pop(cid, None)
        shutil.rmtree(self._dir(cid), ignore_errors=True)

    def container_ids(self) -> list[str]:
        return sorted(self.parents)

    def cleanup(self) -> int:
        return 0
