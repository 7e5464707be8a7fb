"""Filesystem helpers of the snapshotters: key checks, a faithful tree copy, removal.

``copy_tree`` is ``cp -a`` in Python: owners, modes, times, xattrs, hard links, symlinks,
device nodes and fifos are kept; file data goes through ``copy_file_range``, which the
kernel turns into a reflink on filesystems that share extents (btrfs, xfs).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile

from cove.errors import InvalidArgument

_KEY = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_XATTR_SKIP = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES, errno.ENODATA)


def check_key(key: str, what: str = "snapshot key") -> str:
    """Keys and container IDs become path components: letters, digits, "_" and "-" only."""
    if not _KEY.match(key):
        raise InvalidArgument(f"invalid {what}: {key!r}")
    return key


def remove_tree(path: str) -> None:
    """Make ``path`` disappear at once (rename to a temp name), then delete it; a crash in
    between leaves a ``*.tmp-del-*`` entry that the snapshotter's cleanup removes."""
    parent, base = os.path.split(path.rstrip("/"))
    if not os.path.lexists(path):
        return
    tmp = tempfile.mkdtemp(dir=parent, prefix=f"{base}.tmp-del-")
    try:
        os.rename(path, os.path.join(tmp, "x"))
    except FileNotFoundError:
        os.rmdir(tmp)
        return
    shutil.rmtree(tmp)


def _copy_xattrs(src: str, dst: str) -> None:
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        try:
            value = os.getxattr(src, name, follow_symlinks=False)
            os.setxattr(dst, name, value, follow_symlinks=False)
        except OSError as e:
            if e.errno not in _XATTR_SKIP:
                raise


def _copy_data(src: str, dst: str, st: os.stat_result) -> None:
    with open(src, "rb") as fi:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            left = st.st_size
            try:
                while left > 0:
                    n = os.copy_file_range(fi.fileno(), fd, min(left, 1 << 30))
                    if n == 0:
                        break
                    left -= n
            except OSError as e:
                if e.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                    raise
                with os.fdopen(os.dup(fd), "wb") as fo:
                    shutil.copyfileobj(fi, fo, 1 << 20)
        finally:
            os.close(fd)


def _meta(dst: str, st: os.stat_result, src: str, privileged: bool) -> None:
    try:
        os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    except PermissionError:
        if privileged:
            raise
    _copy_xattrs(src, dst)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dst, stat.S_IMODE(st.st_mode))
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def copy_tree(src: str, dst: str) -> None:
    """Copy directory ``src`` to the new path ``dst``, keeping everything a rootfs needs."""
    privileged = os.geteuid() == 0
    links: dict[tuple[int, int], str] = {}
    dirs: list[tuple[str, str, os.stat_result]] = []

    def walk(s: str, d: str, st: os.stat_result) -> None:
        os.mkdir(d, 0o700)
        dirs.append((s, d, st))
        with os.scandir(s) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            cs, cd = e.path, os.path.join(d, e.name)
            cst = e.stat(follow_symlinks=False)
            mode = cst.st_mode
            if stat.S_ISDIR(mode):
                walk(cs, cd, cst)
                continue
            if cst.st_nlink > 1:
                first = links.setdefault((cst.st_dev, cst.st_ino), cd)
                if first != cd:
                    os.link(first, cd, follow_symlinks=False)
                    continue
            if stat.S_ISREG(mode):
                _copy_data(cs, cd, cst)
            elif stat.S_ISLNK(mode):
                os.symlink(os.readlink(cs), cd)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                os.mknod(cd, stat.S_IFMT(mode) | 0o600, cst.st_rdev)
            elif stat.S_ISFIFO(mode):
                os.mkfifo(cd, 0o600)
            else:
                continue  # sockets belong to a running process, not to a filesystem
            _meta(cd, cst, cs, privileged)

    walk(src, dst, os.lstat(src))
    for s, d, st in reversed(dirs):
        _meta(d, st, s, privileged)
