"""The build context: a directory (or an uploaded tar unpacked into one) that sources of
COPY and ADD are taken from, with ``.dockerignore`` applied.

Contract: no path resolved here leads outside the context root.  ``..`` that would climb
out, and symlinks (anywhere along a path) whose target lies outside, are refused with
Docker's "forbidden path outside the build context" error.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import shutil
import stat
import tempfile
from collections.abc import Iterator
from typing import BinaryIO, cast

from cove.archive.compression import decompress
from cove.archive.extract import extract_layer
from cove.errors import InvalidArgument, NotFound
from cove.util.dockerignore import Matcher

DOCKERIGNORE = ".dockerignore"


def forbidden(path: str) -> InvalidArgument:
    return InvalidArgument(f"forbidden path outside the build context: {path} ()")


class BuildContext:
    def __init__(self, root: str, owned: bool = False, dockerfile: str = "Dockerfile") -> None:
        self.root = os.path.realpath(root)
        self.owned = owned  # a temp directory of ours: removed by close()
        self.dockerfile_name = dockerfile
        self.matcher = Matcher([])
        # BuildKit's rule: <Dockerfile>.dockerignore beside the Dockerfile wins over the
        # context's .dockerignore
        own = os.path.join(self.root, dockerfile + DOCKERIGNORE)
        ign = own if os.path.isfile(own) else os.path.join(self.root, DOCKERIGNORE)
        if not os.path.realpath(ign).startswith(self.root + os.sep):
            ign = os.path.join(self.root, DOCKERIGNORE)
        if os.path.isfile(ign) and not os.path.islink(ign):
            with open(ign, encoding="utf-8", errors="replace") as f:
                try:
                    self.matcher = Matcher.from_text(f.read())
                except ValueError as e:
                    raise InvalidArgument(f"invalid .dockerignore: {e}") from e

    @classmethod
    def from_tar(cls, src: BinaryIO, tmp_root: str, dockerfile: str = "Dockerfile") -> BuildContext:
        """Unpack an uploaded context (plain or compressed tar) into a temp directory."""
        os.makedirs(tmp_root, exist_ok=True)
        root = tempfile.mkdtemp(prefix="build-ctx-", dir=tmp_root)
        try:
            stream, _ = decompress(src)
            head = stream.read(512)
            rest: BinaryIO = stream
            if head and _is_tar(head):
                extract_layer(cast(BinaryIO, _Prefixed(head, rest)), root, "delete")
            elif head:
                # not a tar: the body is the Dockerfile itself (``docker build - < Dockerfile``)
                with open(os.path.join(root, dockerfile), "wb") as f:
                    f.write(head)
                    shutil.copyfileobj(rest, f)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return cls(root, owned=True, dockerfile=dockerfile)

    def close(self) -> None:
        if self.owned:
            shutil.rmtree(self.root, ignore_errors=True)

    # --- the Dockerfile ------------------------------------------------------------------
    def read_dockerfile(self) -> str:
        name = self.dockerfile_name
        path = self.resolve(name, follow=True)
        if not os.path.isfile(path):
            alt = self.resolve(name.lower(), follow=True) if name == "Dockerfile" else None
            if alt is None or not os.path.isfile(alt):
                raise NotFound(f"Cannot locate specified Dockerfile: {name}")
            path = alt
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()

    # --- paths ---------------------------------------------------------------------------
    def resolve(self, rel: str, follow: bool = True) -> str:
        """The host path of context path ``rel``; symlinks are followed inside the context
        (the last one too when ``follow``) and refused when they lead out."""
        clean = posixpath.normpath("/" + rel.replace("\\", "/"))
        if posixpath.normpath(rel).startswith("..") and not rel.startswith("/"):
            raise forbidden(rel)
        cur = self.root
        parts = [p for p in clean.split("/") if p]
        hops = 0
        while parts:
            p = parts.pop(0)
            nxt = os.path.join(cur, p)
            if os.path.islink(nxt) and (parts or follow):
                hops += 1
                if hops > 255:
                    raise InvalidArgument(f"too many levels of symbolic links: {rel}")
                target = os.readlink(nxt)
                # an absolute target names a host path: it must itself be inside
                joined = os.path.normpath(os.path.join(cur, target))
                if joined != self.root and not joined.startswith(self.root + os.sep):
                    raise forbidden(rel)
                rest = os.path.relpath(joined, self.root)
                cur = self.root
                parts = [x for x in rest.split(os.sep) if x and x != "."] + parts
                continue
            cur = nxt
        return cur

    def excluded(self, rel: str) -> bool:
        return self.matcher.excluded(rel) if rel not in ("", ".") else False

    def glob(self, pattern: str) -> list[str]:
        """Context paths (relative) matching a COPY/ADD source pattern with Go's
        filepath.Match rules per path element; excluded paths never match."""
        clean = posixpath.normpath("/" + pattern).lstrip("/")
        if posixpath.normpath(pattern).startswith("..") and not pattern.startswith("/"):
            raise forbidden(pattern)
        if not any(c in clean for c in "*?["):
            return [clean or "."]
        out: list[str] = []
        parts = clean.split("/")

        def walk(prefix: str, i: int) -> None:
            if i == len(parts):
                out.append(prefix)
                return
            host = self.resolve(prefix or ".", follow=True)
            if not os.path.isdir(host):
                return
            part = parts[i]
            names = sorted(os.listdir(host))
            for name in names:
                if any(c in part for c in "*?[") and not fnmatch.fnmatchcase(name, part):
                    continue
                if not any(c in part for c in "*?[") and name != part:
                    continue
                rel = f"{prefix}/{name}" if prefix else name
                if self.excluded(rel):
                    continue
                walk(rel, i + 1)

        walk("", 0)
        return out

    def walk(self, rel: str) -> Iterator[tuple[str, str, os.stat_result]]:
        """Every (context path, host path, lstat) under directory ``rel`` (not itself),
        sorted, skipping excluded paths; symlinks are returned, not followed."""
        base = self.resolve(rel, follow=True)
        prefix = posixpath.normpath(rel).lstrip("/")
        prefix = "" if prefix == "." else prefix

        def rec(host: str, crel: str) -> Iterator[tuple[str, str, os.stat_result]]:
            for name in sorted(os.listdir(host)):
                r = f"{crel}/{name}" if crel else name
                h = os.path.join(host, name)
                st = os.lstat(h)
                if self.excluded(r):
                    if stat.S_ISDIR(st.st_mode) and self.matcher.may_hold_exceptions(r):
                        yield from (x for x in rec(h, r) if not self.excluded(x[0]))
                    continue
                yield r, h, st
                if stat.S_ISDIR(st.st_mode):
                    yield from rec(h, r)

        yield from rec(base, prefix)


def _is_tar(head: bytes) -> bool:
    return len(head) >= 262 and head[257:262] == b"ustar"


class _Prefixed:
    """A reader that first returns ``head`` then the rest of ``src``."""

    def __init__(self, head: bytes, src: BinaryIO) -> None:
        self.head = head
        self.src = src

    def read(self, n: int = -1) -> bytes:
        if self.head:
            if n < 0:
                out = self.head + self.src.read()
                self.head = b""
                return out
            out, self.head = self.head[:n], self.head[n:]
            if len(out) < n:
                out += self.src.read(n - len(out))
            return out
        return self.src.read(n)
