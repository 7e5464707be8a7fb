"""Tar in and out of a ``RootView``: the two halves of ``docker cp``.

Writing never opens anything but regular files (a fifo or a device in the container is
archived as a header, never read) and descends into mounts as the container sees them.
Extracting refuses what could escape or harm: names with ``..`` that climb out, writing
through a symlink, hard links to outside the extraction directory, and device nodes; it
writes nothing on a read-only mount (Forbidden, as dockerd's 403).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tarfile
from collections.abc import Iterator
from typing import IO, Any, cast

from cove.archive.paths import clean_name
from cove.archive.tarwriter import _Sink
from cove.engine.fs.archive_paths import RootView, split
from cove.errors import Forbidden, InvalidArgument
from cove.util.idmap import IdMapper, UnmappableId

_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class _Exact:
    """Reads exactly ``size`` bytes of an fd: a file that shrank meanwhile is padded with
    zeros, one that grew is cut, so the tar stays well formed."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.left = fd, size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = os.read(self.fd, n) if n else b""
        if n and not data:
            data = b"\0" * n
        self.left -= len(data)
        return data


def _info(
    arc: str, st: os.stat_result, link: str = "", ids: IdMapper | None = None
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(arc)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = ids(st.st_uid, st.st_gid) if ids else (st.st_uid, st.st_gid)
    info.mtime = int(st.st_mtime)
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(mode):
        info.type, info.linkname = tarfile.SYMTYPE, link
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif stat.S_ISFIFO(mode):
        info.type = tarfile.FIFOTYPE
    else:
        info.type, info.size = tarfile.REGTYPE, st.st_size
    return info


def tar_view(
    view: RootView, comps: list[str], top: str, chunk: int = 1 << 20, ids: IdMapper | None = None
) -> Iterator[bytes]:
    """The tar of ``comps`` (not followed if a symlink), its top entry named ``top``;
    ``ids``: the owners to record for the host's (userns-remap)."""
    sink = _Sink()
    tf = tarfile.open(fileobj=cast(Any, sink), mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
    links: dict[tuple[int, int], str] = {}

    def add(pfd: int | None, name: str, path: list[str], arc: str) -> Iterator[bytes]:
        m = view.mount_at(path)
        st = (
            os.stat(m.source)
            if m is not None
            else (os.lstat(name, dir_fd=pfd) if pfd is not None else os.fstat(view.root_fd))
        )
        if stat.S_ISSOCK(st.st_mode):
            return
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1 and m is None:
            first = links.setdefault((st.st_dev, st.st_ino), arc)
            if first != arc:
                info = _info(arc, st, ids=ids)
                info.type, info.linkname, info.size = tarfile.LNKTYPE, first, 0
                tf.addfile(info)
                return
        link = os.readlink(name, dir_fd=pfd) if stat.S_ISLNK(st.st_mode) and pfd else ""
        info = _info(arc, st, link, ids)
        if info.isreg():
            fd = (
                os.open(m.source, _FILE_FLAGS)
                if m is not None
                else os.open(name, _FILE_FLAGS, dir_fd=pfd)
            )
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise InvalidArgument(f"{arc} changed while it was being copied")
                tf.addfile(info, cast(IO[bytes], _Exact(fd, info.size)))
            finally:
                os.close(fd)
        else:
            tf.addfile(info)
        if sum(len(p) for p in sink.parts) >= chunk:
            yield sink.take()
        if info.isdir():
            dfd = view.open_dir(path)
            try:
                names = set(os.listdir(dfd)) | view.mounts_below(path)
                for child in sorted(names):
                    yield from add(dfd, child, [*path, child], f"{arc.rstrip('/')}/{child}")
            finally:
                os.close(dfd)

    if comps:
        pfd = view.open_dir(comps[:-1])
        try:
            yield from add(pfd, comps[-1], comps, top)
        finally:
            os.close(pfd)
    else:
        yield from add(None, "", [], top)
    tf.close()
    yield sink.take()


class Extractor:
    """Unpacks a tar below the directory ``dest`` (symlink-free logical path)."""

    def __init__(
        self,
        view: RootView,
        dest: list[str],
        no_overwrite_dir_non_dir: bool = False,
        owner: tuple[int, int] | None = None,
        ids: IdMapper | None = None,
    ) -> None:
        self.view, self.dest = view, dest
        self.no_overwrite = no_overwrite_dir_non_dir
        self.owner = owner  # -a: everything belongs to the container's user
        self.ids = ids  # userns-remap: the container's ids to the host's
        self.dirs: list[tuple[list[str], tarfile.TarInfo]] = []

    def run(self, src: IO[bytes]) -> None:
        try:
            with tarfile.open(fileobj=src, mode="r|*", errors="surrogateescape") as tf:
                for m in tf:
                    self.entry(tf, m)
        except tarfile.TarError as e:
            raise InvalidArgument(f"invalid tar archive: {e}") from e
        except UnmappableId as e:
            raise InvalidArgument(str(e)) from e
        for comps, m in reversed(self.dirs):
            with contextlib.suppress(OSError, InvalidArgument, UnmappableId):
                fd = self.view.open_dir(comps)
                try:
                    _fd_meta(fd, *self._owner(m), m)
                finally:
                    os.close(fd)

    def _owner(self, m: tarfile.TarInfo) -> tuple[int, int]:
        uid, gid = self.owner if self.owner is not None else (m.uid, m.gid)
        return self.ids(uid, gid) if self.ids is not None else (uid, gid)

    def _parent_fd(self, comps: list[str]) -> int:
        parent = self.view.resolve("/" + "/".join(comps[:-1]), follow=True)
        why = self.view.read_only(parent)
        if why is not None:
            raise Forbidden(why)
        self.view.makedirs(parent)
        return self.view.open_dir(parent)

    def entry(self, tf: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        rel = clean_name(m.name)
        if m.ischr() or m.isblk():
            raise InvalidArgument(f"refusing to create device node {m.name!r} from an archive")
        comps = [*self.dest, *split(rel)]
        if not rel:
            return  # the extraction directory itself
        pfd = self._parent_fd(comps)
        try:
            self._write(tf, m, pfd, comps)
        finally:
            os.close(pfd)

    def _write(self, tf: tarfile.TarFile, m: tarfile.TarInfo, pfd: int, comps: list[str]) -> None:
        name = comps[-1]
        try:
            st: os.stat_result | None = os.lstat(name, dir_fd=pfd)
        except FileNotFoundError:
            st = None
        if st is not None:
            is_dir = stat.S_ISDIR(st.st_mode)
            if self.no_overwrite and is_dir and not m.isdir():
                raise InvalidArgument(f'cannot overwrite directory "/{"/".join(comps)}" with '
                                      f'non-directory "{m.name}"')  # fmt: skip
            if self.no_overwrite and not is_dir and m.isdir():
                raise InvalidArgument(f'cannot overwrite non-directory "/{"/".join(comps)}" '
                                      f'with directory "{m.name}"')  # fmt: skip
            if not (is_dir and m.isdir()):
                if self.view.mount_at(comps) is not None:
                    raise InvalidArgument(f"cannot replace the mount point /{'/'.join(comps)}")
                if is_dir:
                    import shutil

                    shutil.rmtree(name, dir_fd=pfd)
                else:
                    os.unlink(name, dir_fd=pfd)
        uid, gid = self._owner(m)
        if m.isdir():
            if st is None or not stat.S_ISDIR(st.st_mode):
                os.mkdir(name, 0o700, dir_fd=pfd)
            self.dirs.append((comps, m))
            return
        if m.isreg():
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(name, flags, 0o600, dir_fd=pfd)
            try:
                data = tf.extractfile(m)
                while data is not None and (buf := data.read(1 << 20)):
                    view = memoryview(buf)
                    while view:
                        view = view[os.write(fd, view) :]
                _fd_meta(fd, uid, gid, m)
            finally:
                os.close(fd)
        elif m.issym():
            os.symlink(m.linkname, name, dir_fd=pfd)
            with contextlib.suppress(PermissionError):
                os.chown(name, uid, gid, dir_fd=pfd, follow_symlinks=False)
            os.utime(name, (m.mtime, m.mtime), dir_fd=pfd, follow_symlinks=False)
        elif m.islnk():
            target = [*self.dest, *split(clean_name(m.linkname))]
            tfd = self.view.open_dir(target[:-1])
            try:
                os.link(target[-1], name, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
            except (FileNotFoundError, NotADirectoryError):
                raise InvalidArgument(f"invalid hard link {m.name!r} -> {m.linkname!r}") from None
            finally:
                os.close(tfd)
        elif m.isfifo():
            os.mkfifo(name, 0o600, dir_fd=pfd)
            # metadata through an O_PATH descriptor of the fifo itself: a path could have
            # been swapped for a symlink by the running container meanwhile
            fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
            try:
                if stat.S_ISFIFO(os.fstat(fd).st_mode):
                    _fd_meta(fd, uid, gid, m, via_proc=True)
            finally:
                os.close(fd)
        else:
            raise InvalidArgument(f"unsupported tar entry type {m.type!r} for {m.name!r}")


def _fd_meta(fd: int, uid: int, gid: int, m: tarfile.TarInfo, via_proc: bool = False) -> None:
    """Owner, mode and times of the object open as ``fd`` (never of a path)."""
    target: int | str = f"/proc/self/fd/{fd}" if via_proc else fd
    with contextlib.suppress(PermissionError):
        os.chown(target, uid, gid)
    os.chmod(target, m.mode & 0o7777)
    os.utime(target, (m.mtime, m.mtime))
