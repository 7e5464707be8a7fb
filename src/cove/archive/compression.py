"""Compressed layer streams: detection by magic bytes, streaming decompression, hashing.

Layer tars arrive as gzip (Docker's default), bzip2, xz, zstd (when the ``zstandard`` module
is installed) or plain.  Everything here streams: nothing is read ahead beyond what the
decompressor needs, and a non-seekable input (a socket, a pipe) works.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
from typing import Any, BinaryIO, cast

from cove.errors import InvalidArgument

_MAGIC: list[tuple[bytes, str]] = [
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
]


def detect_compression(head: bytes) -> str:
    """The compression ("gzip", "bzip2", "xz", "zstd" or "none") of a stream's first bytes."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return "none"


class _PrefixedReader(io.RawIOBase):
    """Gives back ``prefix`` first, then the rest of ``src``: un-reads the peeked magic."""

    def __init__(self, prefix: bytes, src: BinaryIO) -> None:
        self._prefix = prefix
        self._src = src

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._src.read(len(view))
        view[: len(data)] = data
        return len(data)


def _read_head(src: BinaryIO, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = src.read(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def decompress(src: BinaryIO) -> tuple[BinaryIO, str]:
    """Wrap ``src`` in the decompressor its magic bytes call for; returns (stream, kind).

    The returned stream yields the uncompressed bytes; an unsupported compression raises
    InvalidArgument.  ``src`` is consumed from its current position and stays open."""
    head = _read_head(src, 6)
    kind = detect_compression(head)
    raw = cast(BinaryIO, io.BufferedReader(_PrefixedReader(head, src), 1 << 16))
    if kind == "none":
        return raw, kind
    if kind == "gzip":
        return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb")), kind
    if kind == "bzip2":
        return cast(BinaryIO, bz2.BZ2File(raw, "rb")), kind
    if kind == "xz":
        return cast(BinaryIO, lzma.LZMAFile(raw, "rb")), kind
    try:
        import zstandard  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise InvalidArgument(
            "zstd-compressed layer: install the zstandard Python module to read it"
        ) from None
    reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return cast(BinaryIO, io.BufferedReader(reader, 1 << 16)), kind


class HashingReader(io.RawIOBase):
    """Reads through ``src`` while hashing (sha256) and counting; optionally copies every
    byte to ``sink`` (a blob writer), so one pass stores a layer and computes its diff ID."""

    def __init__(self, src: BinaryIO, sink: Any = None) -> None:
        self._src = src
        self._sink = sink
        self._hash = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        data = self._src.read(len(view))
        n = len(data)
        view[:n] = data
        if n:
            self._hash.update(data)
            self.size += n
            if self._sink is not None:
                self._sink.write(data)
        return n

    def drain(self) -> None:
        """Read to the end, so the digest covers all of ``src`` (a tar reader stops at the
        end-of-archive marker and leaves the trailing padding unread)."""
        while self.read(1 << 20):
            pass

    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


def diff_id(src: BinaryIO) -> str:
    """The diff ID of a (possibly compressed) layer: sha256 of its uncompressed tar."""
    stream, _ = decompress(src)
    h = HashingReader(stream)
    h.drain()
    return h.digest()
