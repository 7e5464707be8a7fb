"""Building layer tars and a busybox rootfs for the storage tests."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile

Entry = tuple[tarfile.TarInfo, bytes | None]
BUSYBOX = "/usr/bin/busybox"


def file(
    name: str,
    data: bytes = b"",
    mode: int = 0o644,
    uid: int = 0,
    gid: int = 0,
    mtime: float = 1_700_000_000,
    xattrs: dict[str, bytes] | None = None,
) -> Entry:
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.uid, ti.gid, ti.mtime = len(data), mode, uid, gid, mtime
    if xattrs:
        ti.pax_headers = {
            "SCHILY.xattr." + k: v.decode("utf-8", "surrogateescape") for k, v in xattrs.items()
        }
    return ti, data


def directory(name: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> Entry:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = tarfile.DIRTYPE, mode, uid, gid, 1_600_000_000
    return ti, None


def symlink(name: str, target: str) -> Entry:
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, target, 0o777
    return ti, None


def hardlink(name: str, target: str) -> Entry:
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname = tarfile.LNKTYPE, target
    return ti, None


def device(name: str, major: int, minor: int, block: bool = False, mode: int = 0o666) -> Entry:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.BLKTYPE if block else tarfile.CHRTYPE
    ti.devmajor, ti.devminor, ti.mode = major, minor, mode
    return ti, None


def fifo(name: str, mode: int = 0o644) -> Entry:
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode = tarfile.FIFOTYPE, mode
    return ti, None


def whiteout(path: str) -> Entry:
    head, _, base = path.rpartition("/")
    return file((head + "/" if head else "") + ".wh." + base)


def opaque(dirpath: str) -> Entry:
    return file(dirpath.rstrip("/") + "/.wh..wh..opq")


def build(*entries: Entry) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def busybox_rootfs(path: str) -> str:
    """A minimal busybox root filesystem: bin/busybox, its applet links, etc/passwd+group."""
    os.makedirs(os.path.join(path, "bin"), exist_ok=True)
    os.makedirs(os.path.join(path, "etc"), exist_ok=True)
    os.makedirs(os.path.join(path, "tmp"), mode=0o1777, exist_ok=True)
    with open(BUSYBOX, "rb") as src, open(os.path.join(path, "bin", "busybox"), "wb") as dst:
        dst.write(src.read())
    os.chmod(os.path.join(path, "bin", "busybox"), 0o755)
    applets = subprocess.run(
        [BUSYBOX, "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for name in applets:
        link = os.path.join(path, "bin", name)
        if name != "busybox" and not os.path.lexists(link):
            os.symlink("busybox", link)
    with open(os.path.join(path, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(path, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    return path


def tar_of_dir(path: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name in sorted(os.listdir(path)):
            tf.add(os.path.join(path, name), arcname=name)
    return buf.getvalue()
