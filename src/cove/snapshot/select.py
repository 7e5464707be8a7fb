"""Choosing a snapshotter by name, and telling in plain words why overlay cannot work.

The daemon's composition root calls ``new_snapshotter(name, root)`` with the configured
storage driver ("overlay2", "overlay", "native", "vfs") and, for overlay, first asks
``check_overlay_supported(root)``: the kernel's own answer to a failing mount is a bare
"invalid argument".
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile

from cove.archive.opaque import mark_opaque
from cove.errors import InvalidArgument
from cove.snapshot.base import Snapshotter
from cove.snapshot.mount import mount_overlay, unmount
from cove.snapshot.native import NativeSnapshotter
from cove.snapshot.overlay import OverlaySnapshotter, userns_options

ALIASES = {"overlay2": "overlay2", "overlay": "overlay2", "native": "native", "vfs": "native"}


def driver_name(name: str) -> str:
    """The canonical driver name for a configured one; InvalidArgument when unknown."""
    try:
        return ALIASES[name]
    except KeyError:
        raise InvalidArgument(
            f"unknown storage driver {name!r} (known: {', '.join(sorted(ALIASES))})"
        ) from None


def new_snapshotter(name: str, root: str) -> Snapshotter:
    """The snapshotter called ``name``, keeping its data below the daemon's data ``root``."""
    if driver_name(name) == "overlay2":
        return OverlaySnapshotter(root)
    return NativeSnapshotter(root)


def fs_type(path: str) -> str:
    """The filesystem type holding ``path`` (from the longest matching mount point)."""
    p = os.path.realpath(path)
    best, kind = "", "unknown"
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            mp = left.split(" ")[4].replace("\\040", " ")
            inside = p == mp or p.startswith(mp.rstrip("/") + "/")
            if inside and len(mp) >= len(best):
                best, kind = mp, right.split(" ")[0]
    return kind


def _explain(e: OSError, root: str) -> str:
    kind = fs_type(root)
    if e.errno == errno.ENODEV:
        return "the kernel has no overlay filesystem (load it with: modprobe overlay)"
    if e.errno in (errno.EPERM, errno.EACCES):
        return "no permission to mount overlay filesystems: coved must run as root"
    if e.errno == errno.EINVAL and kind in ("overlay", "aufs", "nfs", "nfs4", "fuse"):
        return (
            f"the data root {root} is on a {kind} filesystem, which overlay cannot use for "
            "its upper layers; put the data root on ext4, xfs or btrfs, or use the native "
            "storage driver"
        )
    if e.errno == errno.EINVAL:
        return f"the kernel refused an overlay mount on {root} ({kind} filesystem)"
    return f"overlay mount on {root} ({kind} filesystem) failed: {e.strerror or e}"


def check_overlay_supported(root: str) -> str | None:
    """None when an overlay mount (with whiteouts and opaque dirs) works in ``root``;
    otherwise a plain-language reason for the daemon's log and error message."""
    try:
        os.makedirs(root, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=root, prefix="overlay-check-")
    except OSError as e:
        return f"cannot create a test directory in {root}: {e.strerror or e}"
    try:
        lower, upper, work, merged = (os.path.join(tmp, d) for d in ("l", "u", "w", "m"))
        for d in (lower, upper, work, merged):
            os.mkdir(d)
        os.mkdir(os.path.join(lower, "d"))
        with open(os.path.join(lower, "f"), "w") as f:
            f.write("x")
        try:
            os.mknod(os.path.join(upper, "f"), stat.S_IFCHR, os.makedev(0, 0))
            os.mkdir(os.path.join(upper, "d"))
            fd = os.open(os.path.join(upper, "d"), os.O_RDONLY | os.O_DIRECTORY)
            try:
                mark_opaque(fd)  # the user.* name in a user namespace (rootless)
            finally:
                os.close(fd)
        except OSError as e:
            return (
                f"the {fs_type(root)} filesystem of {root} cannot hold overlay whiteouts "
                f"(device nodes and trusted.* extended attributes): {e.strerror}"
            )
        try:
            mount_overlay(merged, (f"lowerdir={lower}", f"upperdir={upper}", f"workdir={work}",
                                   *userns_options()))  # fmt: skip
        except OSError as e:
            return _explain(e, root)
        try:
            if os.path.exists(os.path.join(merged, "f")):
                return "overlay ignores whiteouts on this host (deleted files reappear)"
            with open(os.path.join(merged, "new"), "w") as f:
                f.write("y")
        finally:
            unmount(merged)
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
