"""What the overlay2 and native snapshotters share: layout, publishing, removal, cleanup.

Layout under ``home`` (``<root>/overlay2`` or ``<root>/native``):
``<key>/`` one directory per layer (its ``parent`` file names the parent key, ``size`` the
unpacked size), ``containers/<cid>/`` one per container.  Both are built in a
``<name>.tmp-*`` directory and renamed into place, so a crash never leaves a half-made layer
or container visible; ``cleanup`` deletes the temp leftovers.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from typing import BinaryIO

from cove.errors import Conflict, CoveError, NotFound
from cove.snapshot.base import Mount
from cove.snapshot.fsutil import check_key, remove_tree
from cove.snapshot.mount import mounts_under, syncfs
from cove.util.fs import atomic_write, fsync_dir, makedirs
from cove.util.idmap import IdMap, IdMapper

RESERVED = frozenset({"l", "containers", "empty"})


def read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


def write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class DirSnapshotter:
    """Template for directory-based snapshotters; subclasses fill the layer/container dirs."""

    name = ""
    # userns-remap: layers are unpacked, and container roots made, owned by the host ids the
    # container's ids map to (its root is an unprivileged host user), as dockerd does
    idmap: IdMap | None = None

    def __init__(self, root: str, subdir: str) -> None:
        self.root = root
        self.home = makedirs(os.path.join(root, subdir), 0o710)
        self.cdir = makedirs(os.path.join(self.home, "containers"), 0o710)

    def _ids(self) -> IdMapper | None:
        return self.idmap.to_host if self.idmap is not None else None

    def _own_as_root(self, path: str) -> None:
        """``path`` owned by the container's root (a no-op without a map)."""
        if self.idmap is not None:
            os.chown(path, *self.idmap.root)

    # --- hooks ----------------------------------------------------------------------------
    def _build_layer(self, key: str, tmp: str, parent: str | None, tar: BinaryIO) -> int:
        raise NotImplementedError

    def _build_container(self, tmp: str, parent: str | None) -> None:
        raise NotImplementedError

    def _forget_layer(self, key: str) -> None:
        """Drop what lives outside the layer's directory (overlay's short link)."""

    def mounts(self, cid: str) -> list[Mount]:
        raise NotImplementedError

    def upper_dir(self, cid: str) -> str:
        raise NotImplementedError

    # --- layers ---------------------------------------------------------------------------
    def layer_dir(self, key: str) -> str:
        check_key(key)
        if key in RESERVED:
            raise NotFound(f"no such layer: {key}")
        return os.path.join(self.home, key)

    def has_layer(self, key: str) -> bool:
        try:
            return os.path.isfile(os.path.join(self.layer_dir(key), "size"))
        except CoveError:
            return False

    def layer_keys(self) -> list[str]:
        return sorted(n for n in os.listdir(self.home) if n not in RESERVED and self.has_layer(n))

    def parent_of(self, key: str) -> str | None:
        return read_text(os.path.join(self.layer_dir(key), "parent")) or None

    def layer_size(self, key: str) -> int:
        text = read_text(os.path.join(self.layer_dir(key), "size"))
        if not text:
            raise NotFound(f"no such layer: {key}")
        return int(text)

    def apply_layer(self, key: str, parent: str | None, tar: BinaryIO) -> int:
        final = self.layer_dir(key)
        if self.has_layer(key):
            return self.layer_size(key)
        if parent is not None and not self.has_layer(parent):
            raise NotFound(f"parent layer {parent} not found")
        tmp = tempfile.mkdtemp(dir=self.home, prefix=f"{key}.tmp-")
        try:
            os.chmod(tmp, 0o710)
            size = self._build_layer(key, tmp, parent, tar)
            if parent is not None:
                write_text(os.path.join(tmp, "parent"), parent)
            write_text(os.path.join(tmp, "size"), str(size))  # written last: marks complete
            syncfs(tmp)
            try:
                os.rename(tmp, final)
            except OSError as e:  # another apply of the same layer won the race
                if e.errno not in (errno.EEXIST, errno.ENOTEMPTY) or not self.has_layer(key):
                    raise
                self._discard(key, tmp)
                return self.layer_size(key)
        except BaseException:
            self._discard(key, tmp)
            raise
        fsync_dir(self.home)
        return size

    def _discard(self, key: str, tmp: str) -> None:
        """Undo a build that was not published (its link, if any, points at ``tmp``)."""
        self._forget_tmp(tmp)
        shutil.rmtree(tmp, ignore_errors=True)

    def _forget_tmp(self, tmp: str) -> None:
        """Hook: forget side entries of an unpublished build."""

    def _users_of(self, key: str) -> list[str]:
        users = [k for k in self.layer_keys() if self.parent_of(k) == key]
        for c in self.container_ids():
            if read_text(os.path.join(self.cdir, c, "parent")) == key:
                users.append(f"container {c}")
        return users

    def remove_layer(self, key: str) -> None:
        final = self.layer_dir(key)
        if not os.path.isdir(final):
            return
        users = self._users_of(key)
        if users:
            raise Conflict(f"layer {key} is in use by {', '.join(users[:3])}")
        self._forget_layer(key)
        remove_tree(final)
        fsync_dir(self.home)

    # --- containers -----------------------------------------------------------------------
    def container_dir(self, cid: str) -> str:
        return os.path.join(self.cdir, check_key(cid, "container ID"))

    def container_ids(self) -> list[str]:
        return sorted(
            n for n in os.listdir(self.cdir)
            if ".tmp-" not in n and os.path.isfile(os.path.join(self.cdir, n, "parent"))
        )  # fmt: skip

    def mount_point(self, cid: str) -> str:
        """An empty directory made for mounting the container's root filesystem on."""
        return os.path.join(self.container_dir(cid), "merged")

    def prepare(self, cid: str, parent: str | None) -> list[Mount]:
        cdir = self.container_dir(cid)
        if os.path.isdir(cdir):
            if (read_text(os.path.join(cdir, "parent")) or None) != parent:
                raise Conflict(f"a writable layer for container {cid} already exists")
            return self.mounts(cid)
        if parent is not None and not self.has_layer(parent):
            raise NotFound(f"layer {parent} not found")
        tmp = tempfile.mkdtemp(dir=self.cdir, prefix=f"{cid}.tmp-")
        try:
            os.chmod(tmp, 0o710)
            os.mkdir(os.path.join(tmp, "merged"), 0o755)
            self._build_container(tmp, parent)
            atomic_write(os.path.join(tmp, "parent"), (parent or "").encode())
            os.rename(tmp, cdir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        fsync_dir(self.cdir)
        return self.mounts(cid)

    def container_parent(self, cid: str) -> str | None:
        cdir = self.container_dir(cid)
        if not os.path.isdir(cdir):
            raise NotFound(f"no writable layer for container {cid}")
        return read_text(os.path.join(cdir, "parent")) or None

    def remove(self, cid: str) -> None:
        """Delete the container's layer; Conflict while anything is mounted inside it (the
        engine unmounts first: deleting through a mount would destroy the mounted data)."""
        cdir = self.container_dir(cid)
        if not os.path.isdir(cdir):
            return
        busy = mounts_under(cdir)
        if busy:
            raise Conflict(f"the root filesystem of container {cid} is still mounted: {busy[0]}")
        remove_tree(cdir)

    # --- crash recovery -------------------------------------------------------------------
    def cleanup(self) -> int:
        """Remove leftovers of interrupted applies, prepares and removals.  Call only while
        no other operation runs on this snapshotter (daemon start)."""
        n = 0
        for d in (self.home, self.cdir):
            for name in os.listdir(d):
                if ".tmp-" in name:
                    shutil.rmtree(os.path.join(d, name), ignore_errors=True)
                    n += 1
        for name in os.listdir(self.home):
            p = os.path.join(self.home, name)
            if name not in RESERVED and os.path.isdir(p) and not os.path.exists(p + "/size"):
                with contextlib.suppress(CoveError):
                    self.layer_dir(name)
                    shutil.rmtree(p, ignore_errors=True)
                    n += 1
        return n
