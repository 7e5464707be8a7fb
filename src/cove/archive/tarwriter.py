"""Writing tars from a directory: ``export`` (a whole rootfs) and ``commit`` (a diff).

``tar_directory`` yields the tar in chunks as it walks, so a rootfs is never held in memory.
With ``whiteouts="overlay"`` the directory is read as an overlay upper dir and its whiteouts
(0:0 character devices, ``trusted.overlay.opaque=y``) become Docker's ``.wh.`` entries.
Entries come in sorted order (reproducible tars); owners are numeric, hard links kept.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, Literal, cast

from cove.archive.opaque import is_opaque
from cove.archive.paths import WHITEOUT_OPAQUE, WHITEOUT_PREFIX
from cove.util.idmap import IdMapper

_SKIP_XATTRS = ("trusted.overlay.", "user.overlay.")


class _Sink:
    """The file object tarfile writes into; the generator takes out what piled up."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def _xattrs(path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for name in sorted(names):
        if name.startswith(_SKIP_XATTRS):
            continue
        try:
            value = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
        out["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
    return out


def _is_opaque(path: str) -> bool:
    return is_opaque(path)


def tar_directory(
    path: str,
    whiteouts: Literal["none", "overlay"] = "none",
    chunk: int = 1 << 20,
    ids: IdMapper | None = None,
) -> Iterator[bytes]:
    """The PAX tar of everything below ``path`` (names relative, without a leading "./");
    ``ids`` gives the owners to record for the host's."""
    sink = _Sink()
    tf = tarfile.open(fileobj=cast(Any, sink), mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
    overlay = whiteouts == "overlay"

    def add(full: str, arc: str, st: os.stat_result) -> Iterator[bytes]:
        if overlay and stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            head, _, base = arc.rpartition("/")
            info = tarfile.TarInfo((head + "/" if head else "") + WHITEOUT_PREFIX + base)
            info.mtime = int(st.st_mtime)
            tf.addfile(info)
            return
        if stat.S_ISSOCK(st.st_mode):
            return  # sockets cannot be archived (as Docker)
        info = _info(tf, full, arc, ids)
        if info.isreg():
            with open(full, "rb") as f:
                tf.addfile(info, f)
        else:
            tf.addfile(info)
        if overlay and info.isdir() and _is_opaque(full):
            opq = tarfile.TarInfo(arc + "/" + WHITEOUT_OPAQUE)
            opq.mtime = info.mtime
            tf.addfile(opq)
        if sum(len(p) for p in sink.parts) >= chunk:
            yield sink.take()

    def walk(full: str, arc: str) -> Iterator[bytes]:
        for name in sorted(os.listdir(full)):
            child, carc = os.path.join(full, name), (arc + "/" + name if arc else name)
            st = os.lstat(child)
            yield from add(child, carc, st)
            if stat.S_ISDIR(st.st_mode):
                yield from walk(child, carc)

    yield from walk(path, "")
    tf.close()
    yield sink.take()


def _info(tf: tarfile.TarFile, full: str, arc: str, ids: IdMapper | None) -> tarfile.TarInfo:
    info = tf.gettarinfo(full, arc)
    info.uname = info.gname = ""
    if ids is not None:
        info.uid, info.gid = ids(info.uid, info.gid)
    info.pax_headers = {**info.pax_headers, **_xattrs(full)}
    return info


def tar_changes(
    root: str,
    entries: Iterable[tuple[str, bool]],
    chunk: int = 1 << 20,
    ids: IdMapper | None = None,
) -> Iterator[bytes]:
    """The layer tar of a diff: ``entries`` are (relative path, deleted) in path order;
    a present path is archived from ``root`` (itself, not what is below it), a deleted one
    becomes a ``.wh.<name>`` entry, and an overlay-opaque directory gets its
    ``.wh..wh..opq`` marker (the directory replaced what lower layers had there)."""
    sink = _Sink()
    tf = tarfile.open(fileobj=cast(Any, sink), mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
    pending = 0
    for arc, deleted in entries:
        if deleted:
            head, _, base = arc.rpartition("/")
            info = tarfile.TarInfo((head + "/" if head else "") + WHITEOUT_PREFIX + base)
            tf.addfile(info)
            continue
        full = os.path.join(root, arc)
        st = os.lstat(full)
        if stat.S_ISSOCK(st.st_mode):
            continue
        info = _info(tf, full, arc, ids)
        if info.isreg():
            with open(full, "rb") as f:
                tf.addfile(info, f)
            pending += info.size
        else:
            tf.addfile(info)
        if info.isdir() and _is_opaque(full):
            opq = tarfile.TarInfo(arc + "/" + WHITEOUT_OPAQUE)
            opq.mtime = info.mtime
            tf.addfile(opq)
        if pending >= chunk:
            pending = 0
            yield sink.take()
    tf.close()
    yield sink.take()


class IterStream(io.RawIOBase):
    """A readable binary stream over an iterator of byte chunks (``tar_directory``)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        while not self._buf:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._buf = nxt
        n = min(len(view), len(self._buf))
        view[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def chunks_stream(chunks: Iterator[bytes]) -> BinaryIO:
    """An iterator of byte chunks as a file object, for APIs that read()."""
    return cast(BinaryIO, io.BufferedReader(IterStream(chunks), 1 << 16))


def tar_stream(path: str, whiteouts: Literal["none", "overlay"] = "none") -> BinaryIO:
    """``tar_directory`` as a file object, for APIs that read()."""
    return chunks_stream(tar_directory(path, whiteouts))
