"""Write a COPY/ADD plan as a layer tar (a temp file the image store then ingests).

Archives that ADD extracts are re-emitted member by member under their destination; a
member that would climb out of it (``../x``, an absolute link name is only data) is refused.
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
import tempfile
from typing import IO, Any, cast

from cove.archive.compression import decompress, detect_compression
from cove.build.files import Entry, Plan
from cove.errors import InvalidArgument

_TYPES = {"dir": tarfile.DIRTYPE, "file": tarfile.REGTYPE, "link": tarfile.SYMTYPE}


def _info(e: Entry) -> tarfile.TarInfo:
    info = tarfile.TarInfo(e.path + ("/" if e.kind == "dir" else ""))
    info.type = _TYPES[e.kind]
    info.mode = e.mode
    info.uid, info.gid = e.uid, e.gid
    info.mtime = int(e.mtime)
    info.linkname = e.linkname
    info.size = e.size if e.kind == "file" else 0
    return info


def write_layer(plan: Plan, tmp_dir: str) -> str:
    """The path of a new temp file holding the layer tar; the caller removes it."""
    os.makedirs(tmp_dir, exist_ok=True)
    fd, path = tempfile.mkstemp(dir=tmp_dir, prefix="build-layer-", suffix=".tar")
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf,
        ):
            for e in plan.entries:
                info = _info(e)
                if e.kind != "file":
                    tf.addfile(info)
                elif e.data is not None:
                    tf.addfile(info, io.BytesIO(e.data))
                else:
                    assert e.host is not None
                    with open(e.host, "rb") as f:
                        info.size = os.fstat(f.fileno()).st_size
                        tf.addfile(info, f)
            for host, dest in plan.archives:
                _copy_archive(tf, host, dest.strip("/"))
    except BaseException:
        os.unlink(path)
        raise
    return path


def is_archive(path: str) -> bool:
    """A local file ADD extracts: a tar, plain or gzip/bzip2/xz compressed."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if detect_compression(head) not in ("none", "gzip", "bzip2", "xz"):
                return False
            f.seek(0)
            stream, _ = decompress(cast(Any, f))
            block = stream.read(512)
    except (OSError, EOFError, ValueError):
        return False
    if len(block) < 512:
        return False
    if block[257:262] == b"ustar":
        return True
    try:  # a v7 tar: only the header checksum tells
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        return True
    except tarfile.HeaderError:
        return False


def _copy_archive(tf: tarfile.TarFile, host: str, dest: str) -> None:
    with open(host, "rb") as f:
        stream, _ = decompress(cast(Any, f))
        try:
            src = tarfile.open(fileobj=cast(IO[bytes], stream), mode="r|")  # noqa: SIM115
        except tarfile.TarError as e:
            raise InvalidArgument(f"invalid archive {os.path.basename(host)}: {e}") from e
        with src:
            for m in src:
                name = posixpath.normpath("/" + m.name).lstrip("/")
                if m.name.replace("\\", "/").split("/").count("..") and posixpath.normpath(
                    m.name
                ).startswith(".."):
                    raise InvalidArgument(f"invalid archive member {m.name!r}")
                if not name or name == ".":
                    continue
                m.name = posixpath.join(dest, name) if dest else name
                if m.islnk():
                    link = posixpath.normpath("/" + m.linkname).lstrip("/")
                    m.linkname = posixpath.join(dest, link) if dest else link
                m.uname = m.gname = ""
                if m.isreg():
                    tf.addfile(m, src.extractfile(m))
                else:
                    tf.addfile(m)
