"""The overlay2 snapshotter: one diff directory per layer, stacked by overlayfs.

Layout under ``<root>/overlay2`` (Docker's): ``<key>/diff`` the layer's own changes with
overlay whiteouts, ``<key>/link`` its short ID, ``<key>/lower`` the short paths of its
ancestors (``l/ID:l/ID``, nearest first), ``l/<ID>`` a symlink to ``../<key>/diff``.
The short paths keep the lowerdir option of a deep chain small; ``cove.snapshot.mount``
copes with the rest.  A container gets ``containers/<cid>/{upper,work,merged}``.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
from typing import BinaryIO

from cove.archive.extract import extract_layer
from cove.snapshot.base import Mount
from cove.snapshot.common import DirSnapshotter, read_text, write_text
from cove.snapshot.diff import Change, overlay_changes
from cove.util.fs import makedirs
from cove.util.idmap import in_user_namespace


@functools.cache
def userns_options() -> tuple[str, ...]:
    """Mount options a user namespace's overlay needs (a rootless daemon): ``userxattr``,
    so the kernel keeps its marks in ``user.overlay.*`` (archive/opaque.py)."""
    return ("userxattr",) if in_user_namespace() else ()


def _new_link_id() -> str:
    return base64.b32encode(os.urandom(16)).decode().rstrip("=")


class OverlaySnapshotter(DirSnapshotter):
    """Implements ``cove.snapshot.base.Snapshotter`` with overlayfs (driver "overlay2")."""

    name = "overlay2"
    mount_type = "overlay"  # how cove.snapshot.mount performs the mount

    def __init__(self, root: str, subdir: str = "overlay2") -> None:
        super().__init__(root, subdir)
        self.link_dir = makedirs(os.path.join(self.home, "l"), 0o700)
        self.empty_dir = makedirs(os.path.join(self.home, "empty"), 0o755)

    # --- layers ---------------------------------------------------------------------------
    def _build_layer(self, key: str, tmp: str, parent: str | None, tar: BinaryIO) -> int:
        diff = os.path.join(tmp, "diff")
        os.mkdir(diff, 0o755)
        self._own_as_root(diff)
        size = extract_layer(tar, diff, "overlay", self._ids())
        if parent is not None:
            pdir = self.layer_dir(parent)
            chain = [f"l/{read_text(os.path.join(pdir, 'link'))}"]
            chain += [p for p in read_text(os.path.join(pdir, "lower")).split(":") if p]
            write_text(os.path.join(tmp, "lower"), ":".join(chain))
        link = _new_link_id()
        write_text(os.path.join(tmp, "link"), link)
        # Dangling until the rename publishes the layer; cleanup() removes it after a crash.
        os.symlink(f"../{key}/diff", os.path.join(self.link_dir, link))
        return size

    def _forget_tmp(self, tmp: str) -> None:
        link = read_text(os.path.join(tmp, "link"))
        if link:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.link_dir, link))

    def _forget_layer(self, key: str) -> None:
        self._forget_tmp(self.layer_dir(key))

    def diff_dir(self, key: str) -> str:
        """The layer's own content (with overlay whiteouts)."""
        return os.path.join(self.layer_dir(key), "diff")

    def lower_dirs(self, key: str) -> list[str]:
        """The lowerdir list of a mount on top of layer ``key``: topmost first."""
        ldir = self.layer_dir(key)
        chain = [f"l/{read_text(os.path.join(ldir, 'link'))}"]
        chain += [p for p in read_text(os.path.join(ldir, "lower")).split(":") if p]
        return [os.path.join(self.home, p) for p in chain]

    # --- containers -----------------------------------------------------------------------
    def _build_container(self, tmp: str, parent: str | None) -> None:
        os.mkdir(os.path.join(tmp, "upper"), 0o755)
        self._own_as_root(os.path.join(tmp, "upper"))
        os.mkdir(os.path.join(tmp, "work"), 0o700)

    def _extra_options(self) -> tuple[str, ...]:
        return userns_options()

    def mounts(self, cid: str) -> list[Mount]:
        parent = self.container_parent(cid)
        lowers = self.lower_dirs(parent) if parent else [self.empty_dir]
        cdir = self.container_dir(cid)
        options = (
            "lowerdir=" + ":".join(lowers),
            "upperdir=" + os.path.join(cdir, "upper"),
            "workdir=" + os.path.join(cdir, "work"),
            *self._extra_options(),
        )
        return [Mount(self.mount_type, self.mount_type, options)]

    def upper_dir(self, cid: str) -> str:
        return os.path.join(self.container_dir(cid), "upper")

    def changes(self, cid: str) -> list[Change]:
        parent = self.container_parent(cid)
        return overlay_changes(self.upper_dir(cid), self.lower_dirs(parent) if parent else [])

    # --- crash recovery -------------------------------------------------------------------
    def cleanup(self) -> int:
        """Besides the temp leftovers: drop dangling short links, restore missing ones."""
        n = super().cleanup()
        for name in os.listdir(self.link_dir):
            p = os.path.join(self.link_dir, name)
            if not os.path.exists(p):
                os.unlink(p)
                n += 1
        for key in self.layer_keys():
            link = read_text(os.path.join(self.layer_dir(key), "link"))
            p = os.path.join(self.link_dir, link)
            if link and not os.path.lexists(p):
                os.symlink(f"../{key}/diff", p)
                n += 1
        return n
