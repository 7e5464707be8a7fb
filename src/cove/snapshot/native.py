"""The native snapshotter (Docker's "vfs"): every layer and container is a full copy.

For hosts without overlayfs.  ``<root>/native/<key>/rootfs`` holds the complete filesystem
of the chain up to layer ``key`` (a copy of the parent plus this layer, whiteouts applied by
really deleting); a container's root filesystem ``containers/<cid>/rootfs`` is a copy of its
layer, bind-mounted by the engine.  Costly in space and time, but it works everywhere.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from cove.archive.extract import extract_layer
from cove.snapshot.base import Mount
from cove.snapshot.common import DirSnapshotter
from cove.snapshot.diff import Change, tree_changes
from cove.snapshot.fsutil import copy_tree


class NativeSnapshotter(DirSnapshotter):
    """Implements ``cove.snapshot.base.Snapshotter`` by copying (driver "native"/"vfs")."""

    name = "native"

    def __init__(self, root: str) -> None:
        super().__init__(root, "native")

    def _populate(self, tmp: str, parent: str | None) -> str:
        rootfs = os.path.join(tmp, "rootfs")
        if parent is None:
            os.mkdir(rootfs, 0o755)
            self._own_as_root(rootfs)
        else:
            copy_tree(self.rootfs(parent), rootfs)
        return rootfs

    def _build_layer(self, key: str, tmp: str, parent: str | None, tar: BinaryIO) -> int:
        return extract_layer(tar, self._populate(tmp, parent), "delete", self._ids())

    def _build_container(self, tmp: str, parent: str | None) -> None:
        self._populate(tmp, parent)

    def rootfs(self, key: str) -> str:
        """The complete filesystem of the chain ending at layer ``key``."""
        return os.path.join(self.layer_dir(key), "rootfs")

    def mounts(self, cid: str) -> list[Mount]:
        self.container_parent(cid)  # NotFound when absent
        return [Mount("bind", self.upper_dir(cid), ("rbind", "rw"))]

    def upper_dir(self, cid: str) -> str:
        """The container's whole root filesystem: a diff needs a comparison with the parent."""
        return os.path.join(self.container_dir(cid), "rootfs")

    def changes(self, cid: str) -> list[Change]:
        parent = self.container_parent(cid)
        return tree_changes(self.upper_dir(cid), self.rootfs(parent) if parent else None)
