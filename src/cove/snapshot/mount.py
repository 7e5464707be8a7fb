"""The one edge module that performs mounts: ``mount(2)``/``umount2(2)`` through libc.

Snapshotters describe mounts as data (``cove.snapshot.base.Mount``); ``mount_all`` carries
them out on a target directory and ``unmount`` takes them away.  No subprocess: ctypes calls
are cheap.  Overlay options longer than the kernel's page-size limit for mount data (a deep
chain of lower layers) go through the new mount API (``fsconfig`` "lowerdir+", Linux 6.8+),
or, on older kernels, through a short-lived child that mounts with paths relative to the
layers' common directory (Docker's way).  The one mount that is a process is
``fuse3.fuse-overlayfs`` (a rootless daemon's driver where the kernel refuses overlay in a
user namespace): the ``fuse-overlayfs`` server mounts and then serves it in the background
until the mount goes, which ``unmount`` does with the same umount2 as any other.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
import subprocess
from collections.abc import Sequence
from functools import cache

from cove.errors import SystemError_
from cove.snapshot.base import Mount

MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MNT_DETACH = 0x2
_PAGE = os.sysconf("SC_PAGE_SIZE")
# New mount API (the same syscall numbers on every architecture).
_SYS_MOVE_MOUNT, _SYS_FSOPEN, _SYS_FSCONFIG, _SYS_FSMOUNT = 429, 430, 431, 432
_FSCONFIG_SET_FLAG, _FSCONFIG_SET_STRING, _FSCONFIG_CMD_CREATE = 0, 1, 6
_AT_FDCWD, _MOVE_MOUNT_F_EMPTY_PATH = -100, 0x4
FUSE_OVERLAY = "fuse3.fuse-overlayfs"  # containerd's name for the mount type


@cache
def _libc() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    lib.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
    lib.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    lib.syncfs.argtypes = [ctypes.c_int]
    lib.syscall.restype = ctypes.c_long
    return lib


def _enc(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def _check(rc: int, what: str) -> int:
    if rc < 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")
    return rc


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    rc = _libc().mount(_enc(source), _enc(target), _enc(fstype), flags, _enc(data))
    _check(rc, f"mount {source} on {target}")


def syncfs(path: str) -> None:
    """Flush the filesystem holding ``path`` (before publishing an unpacked layer)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc().syncfs(fd), f"syncfs {path}")
    finally:
        os.close(fd)


def _overlay_fsconfig(target: str, options: Sequence[str]) -> None:
    lib = _libc()
    sysc = lib.syscall
    fs = _check(sysc(_SYS_FSOPEN, b"overlay", ctypes.c_uint(1)), "fsopen overlay")
    try:
        for opt in options:
            key, eq, value = opt.partition("=")
            if key == "lowerdir":
                for lower in value.split(":"):
                    rc = sysc(_SYS_FSCONFIG, fs, _FSCONFIG_SET_STRING, b"lowerdir+",
                              os.fsencode(lower), 0)  # fmt: skip
                    _check(rc, f"fsconfig lowerdir+ {lower}")
            elif eq:
                rc = sysc(_SYS_FSCONFIG, fs, _FSCONFIG_SET_STRING, key.encode(),
                          os.fsencode(value), 0)  # fmt: skip
                _check(rc, f"fsconfig {key}")
            else:
                _check(sysc(_SYS_FSCONFIG, fs, _FSCONFIG_SET_FLAG, key.encode(), None, 0), key)
        _check(sysc(_SYS_FSCONFIG, fs, _FSCONFIG_CMD_CREATE, None, None, 0), "overlay create")
        mnt = _check(sysc(_SYS_FSMOUNT, fs, ctypes.c_uint(1), ctypes.c_uint(0)), "fsmount")
        try:
            rc = sysc(_SYS_MOVE_MOUNT, mnt, b"", _AT_FDCWD, os.fsencode(target),
                      ctypes.c_uint(_MOVE_MOUNT_F_EMPTY_PATH))  # fmt: skip
            _check(rc, f"move_mount to {target}")
        finally:
            os.close(mnt)
    finally:
        os.close(fs)


def _overlay_relative(target: str, options: Sequence[str]) -> None:
    """Mount in a child whose cwd is the layers' common directory, with relative paths."""
    dirs = [d for o in options if o.startswith(("lowerdir=", "upperdir=", "workdir="))
            for d in o.partition("=")[2].split(":")]  # fmt: skip
    base = os.path.commonpath(dirs)

    def rel(opt: str) -> str:
        key, eq, value = opt.partition("=")
        if key not in ("lowerdir", "upperdir", "workdir"):
            return opt
        return key + eq + ":".join(os.path.relpath(d, base) for d in value.split(":"))

    data = ",".join(rel(o) for o in options)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.chdir(base)
            rc = _libc().mount(b"overlay", os.fsencode(target), b"overlay", 0, data.encode())
            code = 0 if rc == 0 else (ctypes.get_errno() or 1)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise OSError(code, f"mount overlay on {target}: {os.strerror(code)}")


def mount_overlay(target: str, options: Sequence[str]) -> None:
    data = ",".join(options)
    if len(data) < _PAGE - 1:
        _mount("overlay", target, "overlay", 0, data)
        return
    try:
        _overlay_fsconfig(target, options)
    except OSError as e:
        if e.errno not in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
        _overlay_relative(target, options)


def fuse_overlay_binary() -> str | None:
    return shutil.which("fuse-overlayfs") or (
        "/usr/bin/fuse-overlayfs" if os.path.exists("/usr/bin/fuse-overlayfs") else None
    )


def mount_fuse_overlay(target: str, options: Sequence[str]) -> None:
    """Run ``fuse-overlayfs``: it mounts ``target``, then goes to the background (its own
    session, stdio on /dev/null) and serves the mount until it is unmounted, when it exits.
    OSError with its last words when it fails."""
    exe = fuse_overlay_binary()
    if exe is None:
        raise OSError(
            errno.ENOENT, "fuse-overlayfs is not installed (apt-get install fuse-overlayfs)"
        )
    try:
        res = subprocess.run(
            [exe, "-o", ",".join(options), target],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise OSError(errno.EIO, f"fuse-overlayfs on {target}: {e}") from e
    if res.returncode != 0:
        # its noise about options it ignores is not the reason
        words = [ln for ln in res.stderr.decode(errors="replace").splitlines()
                 if ln.strip() and "argument ignored" not in ln]  # fmt: skip
        why = words[-1].strip() if words else f"exit status {res.returncode}"
        raise OSError(errno.EIO, f"fuse-overlayfs on {target}: {why}")


def mount_all(mounts: Sequence[Mount], target: str) -> None:
    """Perform ``mounts`` in order on ``target``; on failure the ones done are undone and
    SystemError_ is raised."""
    done = 0
    try:
        for m in mounts:
            if m.type == "overlay":
                mount_overlay(target, m.options)
            elif m.type == FUSE_OVERLAY:
                mount_fuse_overlay(target, m.options)
            elif m.type == "bind" or "bind" in m.options or "rbind" in m.options:
                _mount(m.source, target, None, MS_BIND | MS_REC, None)
                done += 1
                if "ro" in m.options:
                    _mount("none", target, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)
                continue
            else:
                flags = MS_RDONLY if "ro" in m.options else 0
                data = ",".join(o for o in m.options if o not in ("ro", "rw"))
                _mount(m.source, target, m.type, flags, data or None)
            done += 1
    except OSError as e:
        for _ in range(done):
            _umount(target)
        raise SystemError_(f"mounting the root filesystem failed: {e.strerror}") from e


def _umount(target: str) -> bool:
    """One umount2; False when ``target`` was not a mount point (or is gone)."""
    if _libc().umount2(_enc(target), 0) == 0:
        return True
    e = ctypes.get_errno()
    if e in (errno.EINVAL, errno.ENOENT):
        return False
    if e == errno.EBUSY and _libc().umount2(_enc(target), MNT_DETACH) == 0:
        return True
    e = ctypes.get_errno()
    raise SystemError_(f"unmount {target}: {os.strerror(e)}")


def unmount(target: str) -> None:
    """Unmount everything stacked on ``target`` (lazily when busy); idempotent."""
    for _ in range(64):
        if not _umount(target):
            return


def mountpoints() -> list[str]:
    """Mount points of this mount namespace, from /proc/self/mountinfo."""
    out: list[str] = []
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            field = line.split(b" ")[4]
            out.append(os.fsdecode(field.decode("unicode_escape").encode("latin-1")))
    return out


_AT_FDCWD = -100
_STATX_ATTR_MOUNT_ROOT = 0x2000  # linux/stat.h: the path is the root of a mount
_STATX_ATTRIBUTES_AT = 8  # struct statx: stx_attributes (u64) after stx_mask, stx_blksize
_STATX_ATTRIBUTES_MASK_AT = 56  # stx_attributes_mask: which attribute bits the kernel reports


def _mount_root_attr(path: str) -> bool | None:
    """statx's STATX_ATTR_MOUNT_ROOT for ``path`` (Linux 5.8+), None where it is not reported.

    One system call, where reading the mount table costs a kernel-built text that grows with
    every container's mounts (about 0.7 ms with 60 containers) at each start, stop and rm."""
    lib = _libc()
    if not hasattr(lib, "statx"):
        return None
    buf = ctypes.create_string_buffer(256)  # sizeof(struct statx)
    if lib.statx(_AT_FDCWD, _enc(path), 0, 0, buf) != 0:
        return None
    mask = int.from_bytes(
        buf.raw[_STATX_ATTRIBUTES_MASK_AT : _STATX_ATTRIBUTES_MASK_AT + 8], "little"
    )
    if not mask & _STATX_ATTR_MOUNT_ROOT:
        return None
    attrs = int.from_bytes(buf.raw[_STATX_ATTRIBUTES_AT : _STATX_ATTRIBUTES_AT + 8], "little")
    return bool(attrs & _STATX_ATTR_MOUNT_ROOT)


def is_mountpoint(path: str) -> bool:
    """``path`` is a mount point.  ``os.path.ismount`` compares devices and misses a bind mount
    within one filesystem (the native driver's container root); statx's mount-root attribute
    sees it, and the mount table answers on kernels that do not report that attribute."""
    real = os.path.realpath(path)
    found = _mount_root_attr(real)
    return real in mountpoints() if found is None else found


def mounts_under(path: str) -> list[str]:
    """Mount points at or below ``path``; used to refuse removing a mounted directory."""
    p = os.path.realpath(path)
    return [m for m in mountpoints() if m == p or m.startswith(p.rstrip("/") + "/")]
