"""The local half of ``cove cp``: tar a host path up, unpack a container's tar safely.

The archive from a container is untrusted: entry names are normalised and may not climb out,
directories are entered with O_NOFOLLOW (an entry never lands behind a symlink that an
earlier entry made), hard links must point inside, device nodes are refused.
"""

from __future__ import annotations

import os
import stat
import tarfile

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class CopyError(Exception):
    pass


class _Sink:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def tar_path(src: str, top: str) -> Iterator[bytes]:
    """The tar of ``src`` (a file or a tree, never followed) with its top entry named
    ``top`` ("." puts a directory's contents at the top)."""
    sink = _Sink()
    tf = tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT)  # type: ignore[call-overload]  # noqa: SIM115

    def add(path: str, arc: str) -> Iterator[bytes]:
        st = os.lstat(path)
        if stat.S_ISSOCK(st.st_mode):
            return
        info = tf.gettarinfo(path, arc)
        info.uname = info.gname = ""
        if info.isreg():
            with open(path, "rb") as f:
                tf.addfile(info, f)
        else:
            tf.addfile(info)
        if sum(len(p) for p in sink.parts) >= 1 << 20:
            yield sink.take()
        if info.isdir():
            for name in sorted(os.listdir(path)):
                child = f"{arc}/{name}" if arc != "." else name
                yield from add(os.path.join(path, name), child)

    yield from add(src, top)
    tf.close()
    yield sink.take()


def _clean(name: str) -> list[str]:
    parts: list[str] = []
    for p in name.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if not parts:
                raise CopyError(f"invalid archive entry {name!r}: it leads outside the target")
            parts.pop()
            continue
        parts.append(p)
    return parts


def extract(src: IO[bytes], dest: str, rename: tuple[str, str] | None, keep_owner: bool) -> None:
    """Unpack the tar ``src`` into the directory ``dest``; ``rename`` = (old top, new top)."""
    root = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    dirs: list[tuple[list[str], tarfile.TarInfo]] = []
    try:
        with tarfile.open(fileobj=src, mode="r|*") as tf:
            for m in tf:
                parts = _clean(m.name)
                if rename and parts and parts[0] == rename[0]:
                    parts[0] = rename[1]
                if not parts:
                    continue
                _entry(tf, m, root, parts, keep_owner, dirs)
        for parts, m in reversed(dirs):
            fd = _open_dir(root, parts, False)
            try:
                os.chmod(fd, m.mode & 0o7777)
                os.utime(fd, (m.mtime, m.mtime))
            finally:
                os.close(fd)
    except tarfile.TarError as e:
        raise CopyError(f"invalid archive: {e}") from None
    finally:
        os.close(root)


def _open_dir(root: int, parts: list[str], create: bool) -> int:
    fd = os.dup(root)
    for p in parts:
        try:
            nfd = os.open(p, _DIR, dir_fd=fd)
        except FileNotFoundError:
            if not create:
                os.close(fd)
                raise
            os.mkdir(p, 0o755, dir_fd=fd)
            nfd = os.open(p, _DIR, dir_fd=fd)
        except OSError:
            os.close(fd)
            raise CopyError(
                f"refusing to write through {'/'.join(parts)}: not a directory"
            ) from None
        os.close(fd)
        fd = nfd
    return fd


def _entry(
    tf: tarfile.TarFile,
    m: tarfile.TarInfo,
    root: int,
    parts: list[str],
    keep_owner: bool,
    dirs: list[tuple[list[str], tarfile.TarInfo]],
) -> None:
    if m.ischr() or m.isblk():
        raise CopyError(f"refusing to create device node {m.name!r} from an archive")
    pfd = _open_dir(root, parts[:-1], True)
    name = parts[-1]
    try:
        try:
            st: os.stat_result | None = os.lstat(name, dir_fd=pfd)
        except FileNotFoundError:
            st = None
        if st is not None and not (stat.S_ISDIR(st.st_mode) and m.isdir()):
            if stat.S_ISDIR(st.st_mode):
                import shutil

                shutil.rmtree(name, dir_fd=pfd)
            else:
                os.unlink(name, dir_fd=pfd)
        if m.isdir():
            if st is None or not stat.S_ISDIR(st.st_mode):
                os.mkdir(name, 0o700, dir_fd=pfd)
            dirs.append((parts, m))
            fd = os.open(name, _DIR, dir_fd=pfd)
        elif m.isreg():
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                         dir_fd=pfd)  # fmt: skip
            data = tf.extractfile(m)
            while data is not None and (buf := data.read(1 << 20)):
                view = memoryview(buf)
                while view:
                    view = view[os.write(fd, view) :]
            os.chmod(fd, m.mode & 0o7777)
        elif m.issym():
            os.symlink(m.linkname, name, dir_fd=pfd)
            fd = -1
        elif m.islnk():
            target = _clean(m.linkname)
            tfd = _open_dir(root, target[:-1], False)
            try:
                os.link(target[-1], name, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
            finally:
                os.close(tfd)
            return
        elif m.isfifo():
            os.mkfifo(name, m.mode & 0o777, dir_fd=pfd)
            fd = -1
        else:
            return
        try:
            if keep_owner:
                if fd >= 0:
                    os.chown(fd, m.uid, m.gid)
                else:
                    os.chown(name, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)
            if fd >= 0:
                os.utime(fd, (m.mtime, m.mtime))
            else:
                os.utime(name, (m.mtime, m.mtime), dir_fd=pfd, follow_symlinks=False)
        finally:
            if fd >= 0:
                os.close(fd)
    finally:
        os.close(pfd)


class IterReader:
    """A file object reading from an iterator of byte chunks (the HTTP body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            nxt = next(self._chunks, None)
            if nxt is None:
                break
            self._buf += nxt
        if n < 0:
            data, self._buf = self._buf, b""
        else:
            data, self._buf = self._buf[:n], self._buf[n:]
        return data
