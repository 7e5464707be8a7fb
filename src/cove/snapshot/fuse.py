"""The fuse-overlayfs snapshotter: overlay2's layout, stacked by a FUSE server.

A rootless daemon whose kernel refuses overlayfs inside a user namespace (before Linux
5.11, or a data root on a filesystem without user xattrs) still gets layered, copy-free
containers from ``fuse-overlayfs`` (Debian's package), as rootless Docker and Podman do.
Everything on disk is overlay2's (``cove.snapshot.overlay``): the same layer ``diff``
directories, short links and container ``upper``/``work`` directories, kept under
``<root>/fuse-overlayfs`` as dockerd keeps each driver's data in a directory of its own.
Only the mount differs: a ``fuse3.fuse-overlayfs`` mount that ``cove.snapshot.mount`` makes
by running the server, and whose unmount ends it.

fuse-overlayfs reads the kernel's marks in the layers (0:0 character devices, and opaque
directories under either xattr name); in a container's upper directory it leaves marks of
its own (``user.fuseoverlayfs.opaque`` with a ``.wh..wh..opq`` file, and ``.wh.<name>``
files where mknod is refused), which ``changes`` and the tar writer read.
"""

from __future__ import annotations

from cove.snapshot.diff import Change, overlay_changes
from cove.snapshot.mount import FUSE_OVERLAY
from cove.snapshot.overlay import OverlaySnapshotter

NAME = "fuse-overlayfs"


class FuseOverlaySnapshotter(OverlaySnapshotter):
    """Implements ``cove.snapshot.base.Snapshotter`` with fuse-overlayfs."""

    name = NAME
    mount_type = FUSE_OVERLAY

    def __init__(self, root: str) -> None:
        super().__init__(root, NAME)

    def _extra_options(self) -> tuple[str, ...]:
        return ()  # no userxattr: the server reads both xattr names itself

    def changes(self, cid: str) -> list[Change]:
        parent = self.container_parent(cid)
        lowers = self.lower_dirs(parent) if parent else []
        return overlay_changes(self.upper_dir(cid), lowers, fuse=True)
