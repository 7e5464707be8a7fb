"""COPY and ADD as data: the entries a step adds to the image, planned before any byte is
written, so the cache key (content and metadata of every entry) is known up front.

Docker's rules kept here: sources are relative to the context (or the ``--from`` image's
root), wildcards follow filepath.Match per element, a directory source copies its
contents, several sources need a destination ending in ``/``, a file lands at the
destination or inside it when that is a directory, relative destinations start at
WORKDIR, entries belong to root unless ``--chown``, modes are kept unless ``--chmod``,
parents that are missing are created 0755 (owned as the entries), parents that exist
keep their owner and mode.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from typing import Protocol

from cove.build.copyflags import Chmod, parents_base
from cove.errors import InvalidArgument, NotFound
from cove.util.dockerignore import Matcher


@dataclass
class Entry:
    path: str  # inside the image, relative ("usr/bin/x")
    kind: str  # "dir" | "file" | "link"
    mode: int  # permission bits (and suid/sgid/sticky)
    uid: int = 0
    gid: int = 0
    mtime: float = 0.0
    host: str | None = None  # file contents from here ...
    data: bytes | None = None  # ... or these bytes
    linkname: str = ""
    size: int = 0


@dataclass
class Plan:
    entries: list[Entry] = field(default_factory=list)
    archives: list[tuple[str, str]] = field(default_factory=list)  # (host tar, dest dir)

    def checksum(self) -> str:
        """Content and metadata of everything the step adds (mtimes excluded, as Docker's
        cache ignores them)."""
        h = hashlib.sha256()
        for e in self.entries:
            h.update(f"{e.path}\0{e.kind}\0{e.mode:o}\0{e.uid}:{e.gid}\0{e.linkname}\0".encode())
            if e.data is not None:
                h.update(hashlib.sha256(e.data).digest())
            elif e.host is not None and e.kind == "file":
                h.update(file_digest(e.host))
        for host, dest in self.archives:
            h.update(f"archive\0{dest}\0".encode() + file_digest(host))
        return "sha256:" + h.hexdigest()


def file_digest(path: str) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.digest()


class Source(Protocol):
    """Where COPY reads: the build context or another image's root filesystem."""

    def glob(self, pattern: str) -> list[str]: ...

    def stat(self, rel: str) -> tuple[str, os.stat_result]:
        """Host path and stat (top-level symlink followed); NotFound when absent."""
        ...

    def walk(self, rel: str) -> list[tuple[str, str, os.stat_result]]:
        """(path relative to ``rel``, host path, lstat) of everything below it."""
        ...


class Existing(Protocol):
    """The image being built on: what already exists at a path (resolved)."""

    def lookup(self, path: str, follow: bool = True) -> tuple[str, os.stat_result] | None: ...

    def resolve(self, path: str, follow: bool = True) -> str:
        """``path`` with the image's symlinks resolved (inside the image)."""
        ...


@dataclass
class Owner:
    uid: int = 0
    gid: int = 0
    set: bool = False


def dest_path(dest: str, workdir: str) -> str:
    """Absolute destination (a trailing ``/`` kept: it says "a directory")."""
    is_dir = dest.endswith("/") or dest in (".", "")
    if not dest.startswith("/"):
        dest = posixpath.join(workdir or "/", dest)
    dest = posixpath.normpath(dest)
    return dest.rstrip("/") + "/" if is_dir else dest


class Planner:
    def __init__(
        self,
        existing: Existing,
        owner: Owner,
        chmod: Chmod | None,
        cmd: str,
        exclude: Matcher | None = None,
    ) -> None:
        self.existing = existing
        self.owner = owner
        self.chmod = chmod
        self.exclude = exclude  # --exclude: paths below a source, or the source's own name
        self.cmd = cmd  # "COPY" or "ADD", for messages
        self.plan = Plan()
        self._dirs: dict[str, Entry] = {}

    def _is_dir_in_image(self, path: str) -> bool:
        hit = self.existing.lookup(path)
        return hit is not None and stat.S_ISDIR(hit[1].st_mode)

    def real(self, path: str) -> str:
        """Where ``path`` lands: its parent directories resolved through the image's
        symlinks (``COPY x /bin/`` with /bin -> usr/bin writes /usr/bin/x), as a copy
        into the real root filesystem would."""
        parent, base = posixpath.split(path.rstrip("/") or "/")
        if not base:
            return "/"
        return posixpath.join(self.existing.resolve(parent or "/"), base)

    def parents(self, path: str) -> None:
        """Entries for every parent of ``path`` (existing ones keep their metadata)."""
        path = self.real(path)
        parts = [p for p in path.split("/") if p][:-1]
        for k in range(1, len(parts) + 1):
            self.dir("/" + "/".join(parts[:k]), None)

    def dir(self, path: str, src: os.stat_result | None) -> None:
        rel = self.real(path).strip("/")
        if not rel or rel in self._dirs:
            return
        hit = self.existing.lookup("/" + rel, follow=False)
        if hit is not None and stat.S_ISLNK(hit[1].st_mode):
            return  # a symlinked parent (e.g. /bin -> usr/bin) is left alone
        if hit is not None and stat.S_ISDIR(hit[1].st_mode):
            st = hit[1]
            e = Entry(rel, "dir", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime)
        else:
            mode = stat.S_IMODE(src.st_mode) if src is not None else 0o755
            if self.chmod is not None and src is not None:
                mode = self.chmod.apply(mode, True)
            e = Entry(rel, "dir", mode, self.owner.uid, self.owner.gid,
                      src.st_mtime if src is not None else 0.0)  # fmt: skip
        self._dirs[rel] = e
        self.plan.entries.append(e)

    def add(self, path: str, host: str, st: os.stat_result) -> None:
        rel = self.real(path).strip("/")
        mode = stat.S_IMODE(st.st_mode)
        if self.chmod is not None and not stat.S_ISLNK(st.st_mode):
            mode = self.chmod.apply(mode, stat.S_ISDIR(st.st_mode))
        o = self.owner
        if stat.S_ISDIR(st.st_mode):
            self.dir(path, st)
        elif stat.S_ISLNK(st.st_mode):
            self.plan.entries.append(
                Entry(rel, "link", 0o777, o.uid, o.gid, st.st_mtime, linkname=os.readlink(host))
            )
        elif stat.S_ISREG(st.st_mode):
            self.plan.entries.append(
                Entry(rel, "file", mode, o.uid, o.gid, st.st_mtime, host=host, size=st.st_size)
            )
        # devices, fifos and sockets in a context are skipped, as Docker's tar does

    def copy_tree(self, src: Source, rel: str, dest_dir: str, st: os.stat_result) -> None:
        dest_dir = self.existing.resolve(dest_dir)
        self.parents(dest_dir + "/x")
        self.dir(dest_dir, st)
        for sub, host, sst in src.walk(rel):
            if self.exclude is not None and self.exclude.excluded(sub):
                continue
            self.add(posixpath.join(dest_dir, sub), host, sst)

    def copy_sources(self, src: Source, patterns: list[str], dest: str) -> None:
        matches: list[str] = []
        for p in patterns:
            found = src.glob(p)
            if not found:
                if any(c in p for c in "*?["):
                    continue
                raise NotFound(self._missing(p))
            matches += [m for m in found if not self.excluded(m)]
        if not matches:
            raise InvalidArgument(f"{self.cmd} failed: no source files were specified")
        many = len(matches) > 1
        if many and not dest.endswith("/"):
            raise InvalidArgument(
                f"When using {self.cmd} with more than one source file, the destination must "
                "be a directory and end with a /"
            )
        for rel in matches:
            try:
                host, st = src.stat(rel)
            except NotFound:
                raise NotFound(self._missing(rel)) from None
            self.one(src, rel, host, st, dest)

    def copy_parents(self, src: Source, patterns: list[str], dest: str) -> None:
        """``--parents``: each match keeps its path (below a ``/./`` pivot, if any)."""
        for p in patterns:
            base = parents_base(p)
            found = [m for m in src.glob(p) if not self.excluded(m)]
            if not found and not any(c in p for c in "*?["):
                raise NotFound(self._missing(p))
            for rel in found:
                clean = rel.strip("/")
                keep = posixpath.relpath(clean, base) if base else clean
                host, st = src.stat(rel)
                target = posixpath.normpath(posixpath.join(dest, keep))
                if stat.S_ISDIR(st.st_mode):
                    self.copy_tree(src, rel, target, st)
                else:
                    self.parents(target)
                    self.add(target, host, st)

    def one(self, src: Source, rel: str, host: str, st: os.stat_result, dest: str) -> None:
        if stat.S_ISDIR(st.st_mode):
            self.copy_tree(src, rel, dest.rstrip("/") or "/", st)
            return
        target = self.file_target(dest, posixpath.basename(rel.rstrip("/")) or rel)
        self.parents(target)
        self.add(target, host, st)

    def file_target(self, dest: str, base: str) -> str:
        if dest.endswith("/") or self._is_dir_in_image(dest):
            return posixpath.join(dest, base)
        return dest

    def add_bytes(self, dest: str, name: str, data: bytes, mode: int, mtime: float) -> None:
        target = self.file_target(dest, name)
        self.parents(target)
        o = self.owner
        m = self.chmod.apply(mode) if self.chmod is not None else mode
        self.plan.entries.append(
            Entry(
                self.real(target).strip("/"),
                "file",
                m,
                o.uid,
                o.gid,
                mtime,
                data=data,
                size=len(data),
            )
        )

    def excluded(self, rel: str) -> bool:
        """A matched source that an ``--exclude`` pattern names (by its path or name)."""
        if self.exclude is None:
            return False
        rel = rel.strip("/")
        return self.exclude.excluded(rel) or self.exclude.excluded(posixpath.basename(rel))

    def _missing(self, p: str) -> str:
        return (
            f"{self.cmd} failed: file not found in build context or excluded by "
            f".dockerignore: stat {p}: file does not exist"
        )


def write_scripts(tmp: str, scripts: dict[str, str]) -> dict[str, str]:
    """RUN heredoc scripts as host files (mode 0755) in a new temp directory: container
    path -> host path.  ``remove_scripts`` removes them."""
    if not scripts:
        return {}
    os.makedirs(tmp, exist_ok=True)
    d = tempfile.mkdtemp(dir=tmp, prefix="build-script-")
    out: dict[str, str] = {}
    for i, (dst, body) in enumerate(sorted(scripts.items())):
        host = os.path.join(d, str(i))
        with open(host, "w", encoding="utf-8") as f:
            f.write(body)
        os.chmod(host, 0o755)
        out[dst] = host
    return out


def remove_scripts(scripts: dict[str, str]) -> None:
    for host in scripts.values():
        shutil.rmtree(os.path.dirname(host), ignore_errors=True)
