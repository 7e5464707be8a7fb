"""The volume package's edge: mount(2)/umount2(2) for volumes with ``-o type=...``.

``parse_options`` is pure: the local driver's ``o=`` string split the way mount(8) does into
the flags the kernel takes as bits and the rest, which goes to the filesystem as data.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from functools import cache

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_DIRSYNC = 0x80
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MNT_DETACH = 0x2

# option -> (flags to set, flags to clear)
_FLAGS: dict[str, tuple[int, int]] = {
    "ro": (MS_RDONLY, 0),
    "rw": (0, MS_RDONLY),
    "nosuid": (MS_NOSUID, 0),
    "suid": (0, MS_NOSUID),
    "nodev": (MS_NODEV, 0),
    "dev": (0, MS_NODEV),
    "noexec": (MS_NOEXEC, 0),
    "exec": (0, MS_NOEXEC),
    "sync": (MS_SYNCHRONOUS, 0),
    "async": (0, MS_SYNCHRONOUS),
    "dirsync": (MS_DIRSYNC, 0),
    "noatime": (MS_NOATIME, 0),
    "atime": (0, MS_NOATIME),
    "nodiratime": (MS_NODIRATIME, 0),
    "diratime": (0, MS_NODIRATIME),
    "relatime": (MS_RELATIME, 0),
    "strictatime": (MS_STRICTATIME, 0),
    "bind": (MS_BIND, 0),
    "rbind": (MS_BIND | MS_REC, 0),
    "defaults": (0, 0),
}


def parse_options(o: str) -> tuple[int, str]:
    """(flags, data) for an ``o=`` value such as ``size=64m,uid=1000,noexec``."""
    flags, data = 0, []
    for opt in (p.strip() for p in o.split(",")):
        if not opt:
            continue
        if opt in _FLAGS:
            on, off = _FLAGS[opt]
            flags = (flags | on) & ~off
        else:
            data.append(opt)
    return flags, ",".join(data)


@cache
def _libc() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    lib.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    lib.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return lib


def mount(device: str, target: str, fstype: str, flags: int, data: str) -> None:
    """One mount(2); a read-only bind needs a second, remounting call (the kernel ignores
    MS_RDONLY on the first).  OSError with the kernel's errno on failure."""
    lib = _libc()
    bind = bool(flags & MS_BIND)
    rc = lib.mount(
        os.fsencode(device),
        os.fsencode(target),
        None if bind else os.fsencode(fstype),
        flags,
        os.fsencode(data) if data else None,
    )
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    if bind and flags & MS_RDONLY:
        remount = 0x20 | MS_BIND | (flags & ~MS_REC)
        if lib.mount(b"none", os.fsencode(target), None, remount, None) != 0:
            e = ctypes.get_errno()
            unmount(target)
            raise OSError(e, os.strerror(e))


def unmount(target: str) -> None:
    """Unmount ``target`` (lazily when busy); nothing to do when it is not a mount point."""
    lib = _libc()
    if lib.umount2(os.fsencode(target), 0) == 0:
        return
    e = ctypes.get_errno()
    if e in (errno.EINVAL, errno.ENOENT):
        return
    if e == errno.EBUSY and lib.umount2(os.fsencode(target), MNT_DETACH) == 0:
        return
    e = ctypes.get_errno()
    raise OSError(e, os.strerror(e))
