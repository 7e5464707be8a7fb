"""Choosing a snapshotter by name, and telling in plain words why overlay cannot work.

The daemon's composition root calls ``choose_snapshotter(name, root)`` with the configured
storage driver ("overlay2", "overlay", "fuse-overlayfs", "native", "vfs"; "" lets the host
decide).  Each driver but native is tried first (``check_overlay_supported``,
``check_fuse_overlay_supported``): the kernel's own answer to a failing mount is a bare
"invalid argument".  With no name the tiers are dockerd's order: kernel overlay, then (in a
user namespace: a rootless daemon) fuse-overlayfs, then the native copy driver.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator

from cove.archive.opaque import mark_opaque
from cove.errors import InvalidArgument, SystemError_
from cove.snapshot.base import Snapshotter
from cove.snapshot.mount import fuse_overlay_binary, mount_fuse_overlay, mount_overlay, unmount
from cove.snapshot.native import NativeSnapshotter
from cove.snapshot.overlay import OverlaySnapshotter, userns_options
from cove.util.idmap import in_user_namespace

log = logging.getLogger("coved")
ALIASES = {
    "overlay2": "overlay2",
    "overlay": "overlay2",
    "fuse-overlayfs": "fuse-overlayfs",
    "native": "native",
    "vfs": "native",
}


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
    kind = driver_name(name)
    if kind == "overlay2":
        return OverlaySnapshotter(root)
    if kind == "fuse-overlayfs":
        from cove.snapshot.fuse import FuseOverlaySnapshotter  # rootless only: loaded when chosen

        return FuseOverlaySnapshotter(root)
    return NativeSnapshotter(root)


def choose_snapshotter(name: str, root: str) -> Snapshotter:
    """The configured driver after checking that it works here (SystemError_ saying why
    not), or, for ``name`` "", the first tier that works."""
    checks = {"overlay2": check_overlay_supported, "fuse-overlayfs": check_fuse_overlay_supported}
    if name:
        kind = driver_name(name)
        reason = checks[kind](root) if kind in checks else None
        if reason is not None:
            raise SystemError_(
                f"storage-driver {name!r} cannot be used on this host: {reason}; "
                'set "storage-driver": "native" in daemon.json to use the copy-based driver'
            )
        return new_snapshotter(kind, root)
    tiers = ["overlay2", "fuse-overlayfs"] if in_user_namespace() else ["overlay2"]
    for kind in tiers:
        reason = checks[kind](root)
        if reason is None:
            return new_snapshotter(kind, root)
        log.info("storage driver %s cannot be used here: %s", kind, reason)
    return new_snapshotter("native", root)


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


@contextlib.contextmanager
def _scratch(root: str, what: str) -> Iterator[tuple[str, str, str, str] | str]:
    """lower, upper, work and merged directories for a trial mount below ``root`` (removed
    afterwards), or why they cannot be made."""
    try:
        os.makedirs(root, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=root, prefix=f"{what}-check-")
    except OSError as e:
        yield f"cannot create a test directory in {root}: {e.strerror or e}"
        return
    try:
        lower, upper, work, merged = (os.path.join(tmp, d) for d in ("l", "u", "w", "m"))
        for d in (lower, upper, work, merged):
            os.mkdir(d)
        yield lower, upper, work, merged
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_overlay_supported(root: str) -> str | None:
    """None when an overlay mount (with whiteouts and opaque dirs) works in ``root``;
    otherwise a plain-language reason for the daemon's log and error message."""
    with _scratch(root, "overlay") as dirs:
        if isinstance(dirs, str):
            return dirs
        lower, upper, work, merged = dirs
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


def check_fuse_overlay_supported(root: str) -> str | None:
    """None when a fuse-overlayfs mount works below ``root`` (the binary is there, this
    user may open /dev/fuse, the data root holds the layers' opaque mark, the kernel lets
    this namespace mount FUSE, deletions and new files behave); otherwise a plain-language
    reason."""
    if fuse_overlay_binary() is None:
        return "fuse-overlayfs is not installed (as root: apt-get install fuse-overlayfs)"
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC))
    except OSError as e:
        return (
            f"/dev/fuse cannot be opened ({e.strerror}); as root, make it usable by users: "
            "chmod 0666 /dev/fuse"
        )
    with _scratch(root, "fuse-overlayfs") as dirs:
        if isinstance(dirs, str):
            return dirs
        lower, upper, work, merged = dirs
        with open(os.path.join(lower, "f"), "w") as f:
            f.write("x")
        os.mkdir(os.path.join(lower, "d"))
        fd = os.open(os.path.join(lower, "d"), os.O_RDONLY | os.O_DIRECTORY)
        try:
            mark_opaque(fd)  # as unpacking marks layers' opaque directories
        except OSError as e:
            return (
                f"the {fs_type(root)} filesystem of {root} cannot hold the opaque-directory "
                f"mark of layers (user.* extended attributes): {e.strerror}"
            )
        finally:
            os.close(fd)
        try:
            mount_fuse_overlay(merged, (f"lowerdir={lower}", f"upperdir={upper}",
                                        f"workdir={work}"))  # fmt: skip
        except OSError as e:
            return str(e.strerror or e)
        try:
            os.unlink(os.path.join(merged, "f"))
            with open(os.path.join(merged, "new"), "w") as f:
                f.write("y")
            if os.path.exists(os.path.join(merged, "f")):
                return "fuse-overlayfs ignores deletions on this host (deleted files reappear)"
        except OSError as e:
            return f"a fuse-overlayfs mount in {root} does not work: {e.strerror or e}"
        finally:
            unmount(merged)
        return None
