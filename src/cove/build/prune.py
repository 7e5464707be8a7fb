"""The build cache on disk: its size (for ``system df``) and ``builder prune``.

Two things make it: the contents of ``RUN --mount=type=cache`` directories (under
``<data-root>/build/cache-mounts/<hash of the id>/data``) and the step cache's index.
A cache directory that a running step uses is left alone.  Blocking: call from a thread.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from cove.build.cache import BuildCache
from cove.build.runmounts import cache_dirs, in_use


@dataclass
class CacheRecord:
    id: str  # the mount's id (its target when none was given)
    path: str
    size: int
    in_use: bool


def _size(path: str) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for n in filenames + dirnames:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_blocks * 512
            except OSError:
                pass
    return total


def records(data_root: str) -> list[CacheRecord]:
    root = cache_dirs(data_root)
    out: list[CacheRecord] = []
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return out
    for name in names:
        path = os.path.join(root, name)
        try:
            with open(os.path.join(path, "id"), encoding="utf-8", errors="replace") as f:
                mid = f.read().strip() or name
        except OSError:
            mid = name
        out.append(CacheRecord(mid, path, _size(path), in_use(path)))
    return out


def prune(data_root: str, everything: bool) -> tuple[list[str], int]:
    """(IDs of what was removed, bytes reclaimed)."""
    deleted: list[str] = []
    reclaimed = 0
    for rec in records(data_root):
        if rec.in_use:
            continue
        shutil.rmtree(rec.path, ignore_errors=True)
        deleted.append(rec.id)
        reclaimed += rec.size
    if everything:
        cache = BuildCache(data_root)
        try:
            reclaimed += os.path.getsize(cache.path)
            os.unlink(cache.path)
            deleted.append("step-cache-index")
        except OSError:
            pass
    return deleted, reclaimed


def df_records(data_root: str) -> list[dict[str, object]]:
    """``BuildCache`` of ``GET /system/df``, in dockerd's shape."""
    return [
        {"ID": os.path.basename(r.path), "Type": "exec.cachemount", "Description": r.id,
         "InUse": r.in_use, "Shared": False, "Size": r.size, "UsageCount": 0}
        for r in records(data_root)
    ]  # fmt: skip
