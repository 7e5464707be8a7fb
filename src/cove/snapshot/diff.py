"""A container's changes against its image: ``docker diff`` and the layer of ``commit``.

Two ways to find them, one per snapshotter:
``overlay_changes`` reads an overlay upper directory (everything in it changed; a 0:0
character device is a deletion; whether a path is new is asked of the lower directories;
fuse-overlayfs's upper directories also hold a ``.wh..wh..opq`` file in each opaque
directory and, where mknod is refused, ``.wh.<name>`` files as deletions);
``tree_changes`` compares two complete trees (the native driver's container copy against its
parent layer) by type, mode, owner, size, mtime, link target and xattrs, as Docker's naive
diff does.

Both return ``Change``s sorted by path (parents before children).  A deleted directory is
one change: what was below it goes with it.  ``prune_runtime_entries`` drops what the
runtime, not the user, made: empty mount points (``/etc/hosts``, ``/proc``, volume
targets) that did not exist in the image, and directories left changed only by them.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from cove.archive.opaque import is_opaque
from cove.archive.paths import WHITEOUT_OPAQUE, WHITEOUT_PREFIX

MODIFIED, ADDED, DELETED = 0, 1, 2  # Docker's ``Kind`` numbers in GET /containers/{id}/changes

# Where the engine or the runtime puts mounts of its own into every container.
RUNTIME_PATHS = frozenset(
    {
        "etc/hosts", "etc/hostname", "etc/resolv.conf", "etc/mtab", ".dockerenv",
        "proc", "sys", "dev", "dev/pts", "dev/shm", "dev/mqueue", "dev/console",
        "run/.containerenv",
    }
)  # fmt: skip


@dataclass(frozen=True, order=True)
class Change:
    path: str  # relative, without a leading "/"
    kind: int  # MODIFIED, ADDED or DELETED


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(path: str) -> bool:
    return is_opaque(path)


def _in_lowers(rel: str, lowers: list[str]) -> bool:
    """Whether ``rel`` is visible through the lower directories (topmost first)."""
    parts = rel.split("/")
    for lower in lowers:
        p = lower
        depth = 0
        for depth, part in enumerate(parts):
            p = os.path.join(p, part)
            st = _lstat(p)
            if st is None:
                break
            if _is_whiteout(st):
                return False  # this layer deleted it
            if depth == len(parts) - 1:
                return True
            if not stat.S_ISDIR(st.st_mode):
                return False
        # Absent here: deeper layers count unless a directory on the way is opaque.
        if any(_opaque(os.path.join(lower, *parts[: j + 1])) for j in range(depth)):
            return False
    return False


def _fuse_mark(e: os.DirEntry[str], st: os.stat_result) -> str | None:
    """For fuse-overlayfs's marks: "" for the opaque marker file (no content), the deleted
    name for a ``.wh.<name>`` file, None for anything else."""
    if not e.name.startswith(WHITEOUT_PREFIX) or not stat.S_ISREG(st.st_mode):
        return None
    return "" if e.name == WHITEOUT_OPAQUE else e.name[len(WHITEOUT_PREFIX) :]


def overlay_changes(upper: str, lowers: list[str], fuse: bool = False) -> list[Change]:
    """``fuse``: ``upper`` was written by fuse-overlayfs (its marks are read as such)."""
    out: list[Change] = []

    def walk(d: str, rel: str, under_opaque: bool) -> None:
        with os.scandir(d) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            crel = rel + "/" + e.name if rel else e.name
            st = e.stat(follow_symlinks=False)
            gone = _fuse_mark(e, st) if fuse else None
            if gone == "":
                continue
            if gone is not None:
                crel = rel + "/" + gone if rel else gone
            if gone is not None or _is_whiteout(st):
                if not under_opaque and _in_lowers(crel, lowers):
                    out.append(Change(crel, DELETED))
                continue
            existed = not under_opaque and _in_lowers(crel, lowers)
            out.append(Change(crel, MODIFIED if existed else ADDED))
            if stat.S_ISDIR(st.st_mode):
                walk(e.path, crel, under_opaque or not existed or _opaque(e.path))

    walk(upper, "", False)
    out.sort()
    return out


def _xattrs(path: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with contextlib.suppress(OSError):
        for name in os.listxattr(path, follow_symlinks=False):
            with contextlib.suppress(OSError):
                out[name] = os.getxattr(path, name, follow_symlinks=False)
    return out


def _same(a: str, sa: os.stat_result, b: str, sb: os.stat_result) -> bool:
    if (sa.st_mode, sa.st_uid, sa.st_gid) != (sb.st_mode, sb.st_uid, sb.st_gid):
        return False
    if stat.S_ISDIR(sa.st_mode):
        # A directory's mtime moves with its entries, which are compared one by one.
        return _xattrs(a) == _xattrs(b)
    if sa.st_size != sb.st_size or sa.st_mtime_ns != sb.st_mtime_ns:
        return False
    if stat.S_ISLNK(sa.st_mode):
        return os.readlink(a) == os.readlink(b)
    if stat.S_ISCHR(sa.st_mode) or stat.S_ISBLK(sa.st_mode):
        return sa.st_rdev == sb.st_rdev
    return _xattrs(a) == _xattrs(b)


def tree_changes(new: str, old: str | None) -> list[Change]:
    """What turns tree ``old`` (None: empty) into tree ``new``."""
    out: list[Change] = []

    def names(d: str | None) -> dict[str, os.DirEntry[str]]:
        if d is None:
            return {}
        with os.scandir(d) as it:
            return {e.name: e for e in it}

    def walk(nd: str, od: str | None, rel: str) -> bool:
        """Compare one directory; True when anything below it changed."""
        newer, older = names(nd), names(od)
        changed = False
        for name in sorted(set(newer) | set(older)):
            crel = rel + "/" + name if rel else name
            ne, oe = newer.get(name), older.get(name)
            if ne is None:
                out.append(Change(crel, DELETED))
                changed = True
                continue
            nst = ne.stat(follow_symlinks=False)
            ost = oe.stat(follow_symlinks=False) if oe is not None else None
            both_dirs = ost is not None and stat.S_ISDIR(nst.st_mode) and stat.S_ISDIR(ost.st_mode)
            if ost is None or stat.S_IFMT(nst.st_mode) != stat.S_IFMT(ost.st_mode):
                if ost is not None:  # replaced by another type: the old one goes first
                    out.append(Change(crel, DELETED))
                out.append(Change(crel, ADDED))
                if stat.S_ISDIR(nst.st_mode):
                    walk(ne.path, None, crel)
                changed = True
                continue
            assert oe is not None
            same = _same(ne.path, nst, oe.path, ost)
            below = walk(ne.path, oe.path, crel) if both_dirs else False
            if not same or below:
                out.append(Change(crel, MODIFIED))
                changed = True
        return changed

    walk(new, old, "")
    # A type change yields DELETED then ADDED for one path: keep that order (stable sort).
    out.sort(key=lambda c: c.path)
    return out


def prune_runtime_entries(
    changes: list[Change], upper: str, extra: Iterable[str] = ()
) -> list[Change]:
    """Drop the runtime's empty mount points that the image did not have (``upper`` holds
    the new content), then directories that are changed only because they hold those."""
    skip_names = RUNTIME_PATHS | {p.strip("/") for p in extra if p.strip("/")}
    dropped: set[str] = set()
    kept: list[Change] = []
    for ch in changes:
        if ch.path in skip_names and ch.kind == ADDED and _empty(os.path.join(upper, ch.path)):
            dropped.add(ch.path)
            continue
        if any(ch.path.startswith(d + "/") for d in dropped):
            continue
        kept.append(ch)
    if not dropped:
        return kept
    result: list[Change] = []
    for ch in kept:
        if ch.kind == MODIFIED and any(d.startswith(ch.path + "/") for d in dropped):
            pre = ch.path + "/"
            if not any(o.path.startswith(pre) for o in kept):
                continue
        result.append(ch)
    return result


def _empty(path: str) -> bool:
    st = _lstat(path)
    if st is None:
        return False
    if stat.S_ISREG(st.st_mode):
        return st.st_size == 0
    if stat.S_ISDIR(st.st_mode):
        return all(_empty(os.path.join(path, n)) and os.path.isdir(os.path.join(path, n))
                   for n in os.listdir(path))  # fmt: skip
    return False
