"""overlayfs's opaque-directory mark, under either of its two names.

The kernel reads ``trusted.overlay.opaque`` normally; an overlay mounted with ``userxattr``
(the only kind a user namespace may mount, i.e. a rootless daemon) reads
``user.overlay.opaque`` instead, because only the initial namespace's root may write
``trusted.*`` attributes.  Unpacking writes the trusted name and falls back to the user one
where the kernel refuses it; readers accept both, so layer diffs, exports and commits see
the same directories as opaque either way.  fuse-overlayfs (a rootless daemon's driver where
the kernel refuses overlay) marks the directories it makes opaque with a name of its own,
``user.fuseoverlayfs.opaque``, which readers accept as well.
"""

from __future__ import annotations

import os

from cove.archive.paths import OVERLAY_OPAQUE_XATTR

OVERLAY_OPAQUE_USER_XATTR = "user.overlay.opaque"
FUSE_OVERLAY_OPAQUE_XATTR = "user.fuseoverlayfs.opaque"


def is_opaque(path: str) -> bool:
    for name in (OVERLAY_OPAQUE_XATTR, OVERLAY_OPAQUE_USER_XATTR, FUSE_OVERLAY_OPAQUE_XATTR):
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def mark_opaque(fd: int) -> None:
    """Mark the directory open at ``fd`` opaque (the user name when trusted is refused)."""
    try:
        os.setxattr(fd, OVERLAY_OPAQUE_XATTR, b"y")
    except PermissionError:
        os.setxattr(fd, OVERLAY_OPAQUE_USER_XATTR, b"y")
