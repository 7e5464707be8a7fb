"""A read-only view of an image's root filesystem, straight from its layer directories.

COPY needs to know what is already there (an existing directory keeps its owner and mode,
``--chown name`` looks in /etc/passwd, ``COPY --from`` reads another stage's files) without
mounting anything: the layers are looked up top-down as overlayfs would (a 0:0 character
device is a whiteout, ``trusted.overlay.opaque`` hides what is below a directory).  Symlinks
are resolved inside the view, never on the host.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterator
from typing import Any

from cove.archive.opaque import is_opaque
from cove.errors import NotFound


def layer_dirs(snapshotter: Any, top_key: str | None) -> list[str]:
    """Directories holding the image's content, topmost first."""
    if top_key is None:
        return []
    if hasattr(snapshotter, "lower_dirs"):
        return [str(d) for d in snapshotter.lower_dirs(top_key)]
    if hasattr(snapshotter, "rootfs"):
        return [str(snapshotter.rootfs(top_key))]
    raise NotFound(f"cannot read layer {top_key} with this storage driver")


def _whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(path: str) -> bool:
    return is_opaque(path)  # either name: a rootless daemon's overlay writes user.overlay.*


class RootfsView:
    def __init__(self, dirs: list[str]) -> None:
        self.dirs = dirs

    def _lookup_raw(self, clean: str) -> tuple[str, os.stat_result] | None:
        """The host path and lstat of the topmost entry for an already-resolved path."""
        parts = [p for p in clean.split("/") if p]
        for d in self.dirs:
            host = os.path.join(d, *parts) if parts else d
            try:
                st = os.lstat(host)
            except OSError:
                # an opaque parent in this layer hides lower layers' entries
                if any(_opaque(os.path.join(d, *parts[:k])) for k in range(1, len(parts))):
                    return None
                continue
            if _whiteout(st):
                return None
            return host, st
        return None

    def resolve(self, path: str, follow: bool = True) -> str:
        """``path`` with symlinks resolved inside the view (absolute, clean)."""
        parts = [p for p in posixpath.normpath("/" + path).split("/") if p]
        cur = "/"
        hops = 0
        while parts:
            p = parts.pop(0)
            nxt = posixpath.join(cur, p)
            hit = self._lookup_raw(nxt)
            if hit and stat.S_ISLNK(hit[1].st_mode) and (parts or follow):
                hops += 1
                if hops > 64:
                    return nxt
                target = os.readlink(hit[0])
                base = "/" if target.startswith("/") else cur
                new = posixpath.normpath(posixpath.join(base, target))
                parts = [x for x in new.split("/") if x] + parts
                cur = "/"
                continue
            cur = nxt
        return cur

    def lookup(self, path: str, follow: bool = True) -> tuple[str, os.stat_result] | None:
        return self._lookup_raw(self.resolve(path, follow))

    def read(self, path: str) -> bytes | None:
        hit = self.lookup(path)
        if hit is None or not stat.S_ISREG(hit[1].st_mode):
            return None
        with open(hit[0], "rb") as f:
            return f.read()

    def listdir(self, path: str) -> list[str]:
        """Names in a directory, merged over the layers."""
        clean = self.resolve(path)
        parts = [p for p in clean.split("/") if p]
        seen: dict[str, bool] = {}
        for d in self.dirs:
            host = os.path.join(d, *parts) if parts else d
            if not os.path.isdir(host) or os.path.islink(host):
                if os.path.lexists(host):
                    break
                continue
            for name in os.listdir(host):
                if name in seen:
                    continue
                st = os.lstat(os.path.join(host, name))
                seen[name] = not _whiteout(st)
            if _opaque(host):
                break
        return sorted(n for n, present in seen.items() if present)

    def walk(self, path: str) -> Iterator[tuple[str, str, os.stat_result]]:
        """(relative path, host path, lstat) of everything below directory ``path``."""
        base = self.resolve(path)

        def rec(rel: str) -> Iterator[tuple[str, str, os.stat_result]]:
            for name in self.listdir(posixpath.join(base, rel)):
                r = f"{rel}/{name}" if rel else name
                hit = self._lookup_raw(posixpath.join(base, r))
                if hit is None:
                    continue
                yield r, hit[0], hit[1]
                if stat.S_ISDIR(hit[1].st_mode):
                    yield from rec(r)

        yield from rec("")
