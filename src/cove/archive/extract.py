"""Safe extraction of a layer tar into a directory, with Docker/OCI whiteouts.

Safety contract: nothing is ever written outside ``target``.  Entry names are normalised
(``/abs`` lands inside the target, ``../x`` is refused); every parent directory is opened
component by component with O_NOFOLLOW relative to the previous one, so a symlink in the
target (from this layer or a lower one) is never followed while writing: an entry "through"
a symlink is refused with InvalidArgument.  Hard links must name a file inside the target.
Symlink targets are stored verbatim: they are only data here.

Whiteouts (``.wh.<name>``, ``.wh..wh..opq``) are represented as the caller asks:
``"overlay"``: a 0:0 character device ``<name>`` and ``trusted.overlay.opaque=y`` on an
opaque directory (the overlay2 driver's diff directories); ``"delete"``: the named path is
really removed from the target, which holds the parent layer's content (the native driver).

Failure leaves a partially extracted target: callers extract into a temp directory and
publish it by rename.  Tar format errors raise InvalidArgument, host errors SystemError_.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import lzma
import os
import shutil
import stat
import tarfile
import zlib
from typing import Any, BinaryIO, Literal

from cove.archive.opaque import mark_opaque
from cove.archive.paths import (
    WHITEOUT_META_PREFIX,
    WHITEOUT_OPAQUE,
    clean_name,
    split,
    whiteout_target,
)
from cove.errors import CoveError, InvalidArgument, SystemError_
from cove.util.idmap import IdMapper, UnmappableId

WhiteoutMode = Literal["overlay", "delete"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_XATTR_PREFIX = "SCHILY.xattr."
# Overlay's own metadata must never come from a tar: it could redirect lookups.
_FORBIDDEN_XATTRS = ("trusted.overlay.", "user.overlay.")
_IGNORED_XATTR_ERRORS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES)
_TAR_ERRORS = (tarfile.TarError, EOFError, gzip.BadGzipFile, lzma.LZMAError, zlib.error)


def extract_layer(
    src: BinaryIO, target: str, whiteouts: WhiteoutMode = "delete", ids: IdMapper | None = None
) -> int:
    """Unpack the uncompressed layer tar ``src`` into the existing directory ``target``;
    returns the layer's size (its regular files' sizes and its symlinks' target lengths, as
    dockerd's overlay2 counts them).  ``ids`` turns the tar's
    owners into the host's (userns-remap: container root is an unprivileged host id); the
    directories the tar does not list are then owned by the mapped root too."""
    ex = _Extractor(target, whiteouts, ids)
    ex.src_fd = _file_fd(src)
    # A plain file (a stored blob) is read by offsets and its data copied by the kernel;
    # anything else as a stream, in big reads.
    how: dict[str, Any] = (
        {"mode": "r:"} if ex.src_fd is not None else {"mode": "r|", "bufsize": 1 << 20}
    )
    name = ""
    try:
        with tarfile.open(fileobj=src, errors="surrogateescape", **how) as tf:
            for member in tf:
                name = member.name
                ex.entry(tf, member)
        ex.finish()
    except CoveError:
        raise
    except _TAR_ERRORS as e:
        raise InvalidArgument(f"invalid layer tar: {e}") from e
    except UnmappableId as e:
        raise InvalidArgument(f"{e} (entry {name!r})") from e
    except OSError as e:
        reason = str(e.strerror or e)  # Go's lower-case words, as dockerd says them
        raise SystemError_(f"extracting {name!r}: {reason[:1].lower()}{reason[1:]}") from e
    finally:
        ex.close()
    return ex.size


def _file_fd(src: BinaryIO) -> int | None:
    """The descriptor of ``src`` when it is a regular file read from its start."""
    try:
        fd = src.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode) or src.tell() != 0:
            return None
        return fd
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return None


def _copy_range(src_fd: int, dst_fd: int, offset: int, size: int) -> None:
    left = size
    while left > 0:
        try:
            n = os.copy_file_range(src_fd, dst_fd, min(left, 1 << 30), offset)
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            data = os.pread(src_fd, min(left, 1 << 20), offset)
            n = os.write(dst_fd, data) if data else 0
        if n == 0:
            raise InvalidArgument("invalid layer tar: unexpected end of data")
        offset += n
        left -= n


def _ns(seconds: float | str | None) -> int:
    return int(float(seconds or 0) * 1_000_000_000)


class _Extractor:
    def __init__(self, target: str, mode: WhiteoutMode, ids: IdMapper | None = None) -> None:
        self.root_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.mode = mode
        self.ids = ids
        self.size = 0
        self.privileged = os.geteuid() == 0
        self.dirs: list[tuple[str, tarfile.TarInfo]] = []  # metadata applied at the end
        self.unpacked: set[str] = {""}  # paths this layer wrote ("delete" mode)
        self.cache: dict[str, int] = {}
        self.src_fd: int | None = None  # set when the tar is a plain file (offset copies)

    # --- directory walking ---------------------------------------------------------------
    def dir_fd(self, rel: str, create: bool = True) -> int:
        """An fd of directory ``rel`` reached without following any symlink; missing
        directories are created (0755) when ``create``.  FileNotFoundError otherwise."""
        if rel == "":
            return self.root_fd
        fd = self.cache.get(rel)
        if fd is not None:
            return fd
        parent, base = split(rel)
        pfd = self.dir_fd(parent, create)
        try:
            fd = os.open(base, _DIR_FLAGS, dir_fd=pfd)
        except FileNotFoundError:
            if not create:
                raise
            os.mkdir(base, 0o755, dir_fd=pfd)
            fd = os.open(base, _DIR_FLAGS, dir_fd=pfd)
            if self.ids is not None:
                os.chown(fd, *self.ids(0, 0))
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR):
                raise InvalidArgument(
                    f"invalid tar entry: {rel!r} is a symlink or not a directory, "
                    "refusing to write through it"
                ) from None
            raise
        if len(self.cache) >= 64:
            self.drop_cache()
        self.cache[rel] = fd
        return fd

    def drop_cache(self) -> None:
        for fd in self.cache.values():
            os.close(fd)
        self.cache.clear()

    def close(self) -> None:
        self.drop_cache()
        os.close(self.root_fd)

    def remove(self, pfd: int, base: str, st: os.stat_result) -> None:
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(base, dir_fd=pfd)
        else:
            os.unlink(base, dir_fd=pfd)
        self.drop_cache()  # cached fds may point below what went away: callers re-fetch

    def mark(self, rel: str) -> None:
        while rel not in self.unpacked:
            self.unpacked.add(rel)
            rel = split(rel)[0]

    # --- entries --------------------------------------------------------------------------
    def entry(self, tf: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        rel = clean_name(m.name)
        if rel == "" or rel.startswith(WHITEOUT_META_PREFIX):
            return  # the root itself (its metadata is the parent layer's); aufs metadata
        parent, base = split(rel)
        if base == WHITEOUT_OPAQUE:
            self.opaque(parent)
            return
        wt = whiteout_target(base)
        if wt is not None:
            self.whiteout(parent, wt, m)
            return
        if base.startswith(WHITEOUT_META_PREFIX):
            return  # aufs bookkeeping (.wh..wh.plnk ...), not content
        pfd = self.dir_fd(parent)
        try:
            st: os.stat_result | None = os.lstat(base, dir_fd=pfd)
        except FileNotFoundError:
            st = None
        keep_dir = st is not None and stat.S_ISDIR(st.st_mode) and m.isdir()
        if st is not None and not keep_dir:
            self.remove(pfd, base, st)
            pfd = self.dir_fd(parent)
        if m.isreg():
            self.regular(tf, m, pfd, base)
        elif m.isdir():
            if not keep_dir:
                os.mkdir(base, 0o700, dir_fd=pfd)
            fd = self.dir_fd(rel)
            self.owner_and_xattrs(m, fd, None, None)
            self.dirs.append((rel, m))
        elif m.issym():
            os.symlink(m.linkname, base, dir_fd=pfd)
            self.owner_and_xattrs(m, None, pfd, base)
            t = _ns(m.mtime)
            os.utime(base, ns=(t, t), dir_fd=pfd, follow_symlinks=False)
            # dockerd's layer size counts a symlink as its target's length (lstat's size)
            self.size += len(os.fsencode(m.linkname))
        elif m.islnk():
            self.hardlink(m, pfd, base)
        elif m.ischr() or m.isblk() or m.isfifo():
            if not self.special(m, pfd, base):
                return
        else:
            raise InvalidArgument(f"unsupported tar entry type {m.type!r} for {m.name!r}")
        if self.mode == "delete":
            self.mark(rel)

    def regular(self, tf: tarfile.TarFile, m: tarfile.TarInfo, pfd: int, base: str) -> None:
        sparse = m.sparse is not None
        data = tf.extractfile(m) if self.src_fd is None or sparse else None
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(base, flags, 0o600, dir_fd=pfd)
        try:
            if self.src_fd is not None and not sparse:
                _copy_range(self.src_fd, fd, m.offset_data, m.size)
            elif data is not None:
                while chunk := data.read(1 << 20):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]
            self.owner_and_xattrs(m, fd, None, None)
            os.chmod(fd, m.mode & 0o7777)
            atime = m.pax_headers.get("atime")
            os.utime(fd, ns=(_ns(atime) if atime else _ns(m.mtime), _ns(m.mtime)))
        finally:
            os.close(fd)
        self.size += m.size

    def hardlink(self, m: tarfile.TarInfo, pfd: int, base: str) -> None:
        trel = clean_name(m.linkname)
        tparent, tbase = split(trel)
        try:
            tfd = self.dir_fd(tparent, create=False)
            os.link(tbase, base, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            raise InvalidArgument(
                f"invalid hard link {m.name!r} -> {m.linkname!r}: no such file in the layer"
            ) from None

    def special(self, m: tarfile.TarInfo, pfd: int, base: str) -> bool:
        if m.isfifo():
            os.mkfifo(base, 0o600, dir_fd=pfd)
        else:
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            try:
                os.mknod(base, kind | 0o600, os.makedev(m.devmajor, m.devminor), dir_fd=pfd)
            except PermissionError:
                if self.privileged:
                    raise
                return False  # unprivileged: skip device nodes, as rootless Docker does
        self.owner_and_xattrs(m, None, pfd, base)
        os.chmod(base, m.mode & 0o7777, dir_fd=pfd)
        t = _ns(m.mtime)
        os.utime(base, ns=(t, t), dir_fd=pfd, follow_symlinks=False)
        return True

    def owner_and_xattrs(
        self, m: tarfile.TarInfo, fd: int | None, pfd: int | None, base: str | None
    ) -> None:
        """Owner and xattrs of the object at ``fd`` or, not following it, ``pfd``/``base``."""
        uid, gid = self.owner(m)
        try:
            if fd is not None:
                os.chown(fd, uid, gid)
            else:
                os.chown(base or "", uid, gid, dir_fd=pfd, follow_symlinks=False)
        except PermissionError:
            if self.privileged:
                raise
        for key, value in m.pax_headers.items():
            if not key.startswith(_XATTR_PREFIX):
                continue
            name = key[len(_XATTR_PREFIX) :]
            if name.startswith(_FORBIDDEN_XATTRS):
                continue
            raw = value.encode("utf-8", "surrogateescape")
            try:
                if fd is not None:
                    os.setxattr(fd, name, raw)
                else:  # no lsetxattrat: reach the entry through its parent's fd
                    path = f"/proc/self/fd/{pfd}/{base}"
                    os.setxattr(path, name, raw, follow_symlinks=False)
            except OSError as e:
                if e.errno not in _IGNORED_XATTR_ERRORS:
                    raise

    def owner(self, m: tarfile.TarInfo) -> tuple[int, int]:
        return (m.uid, m.gid) if self.ids is None else self.ids(m.uid, m.gid)

    # --- whiteouts ------------------------------------------------------------------------
    def whiteout(self, parent: str, name: str, m: tarfile.TarInfo) -> None:
        try:
            pfd = self.dir_fd(parent, create=self.mode == "overlay")
        except FileNotFoundError:
            return  # the parent does not exist below: nothing to hide
        with contextlib.suppress(FileNotFoundError):
            self.remove(pfd, name, os.lstat(name, dir_fd=pfd))
            pfd = self.dir_fd(parent)
        if self.mode == "overlay":
            os.mknod(name, stat.S_IFCHR, os.makedev(0, 0), dir_fd=pfd)
            try:
                os.chown(name, *self.owner(m), dir_fd=pfd, follow_symlinks=False)
            except PermissionError:
                if self.privileged:
                    raise

    def opaque(self, parent: str) -> None:
        fd = self.dir_fd(parent)
        if self.mode == "overlay":
            mark_opaque(fd)
        else:
            self.mark(parent)
            self.purge(parent)

    def purge(self, rel: str) -> None:
        """Remove everything below ``rel`` that this layer did not write."""
        for name in os.listdir(self.dir_fd(rel)):
            child = f"{rel}/{name}" if rel else name
            fd = self.dir_fd(rel)
            st = os.lstat(name, dir_fd=fd)
            if child not in self.unpacked:
                self.remove(fd, name, st)
            elif stat.S_ISDIR(st.st_mode):
                self.purge(child)

    def finish(self) -> None:
        """Directory modes and times last: writing the children changed the times."""
        for rel, m in reversed(self.dirs):
            try:
                fd = self.dir_fd(rel, create=False)
            except (FileNotFoundError, InvalidArgument):
                continue  # replaced later in the stream
            os.chmod(fd, m.mode & 0o7777)
            atime = m.pax_headers.get("atime")
            os.utime(fd, ns=(_ns(atime) if atime else _ns(m.mtime), _ns(m.mtime)))
