"""Compressed layer streams: detection by magic bytes, streaming decompression, hashing.

Layer tars arrive as gzip (Docker's default), bzip2, xz, zstd (when the ``zstandard`` module
is installed) or plain.  Everything here streams: nothing is read ahead beyond what the
decompressor needs, and a non-seekable input (a socket, a pipe) works.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import lzma
import zlib
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
        return cast(BinaryIO, io.BufferedReader(GzipStream(raw), 1 << 20)), kind
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


class GzipStream(io.RawIOBase):
    """Inflates a (multi-member) gzip stream with zlib in 1 MiB steps.

    The standard library's GzipFile pulls its input 8 KiB at a time through several Python
    layers, which costs more than the inflation itself on a 100 MB layer; here zlib does
    the header, CRC and length checks and Python only moves big buffers.  Output per call
    is bounded, so a small, highly compressed input cannot balloon memory.  Zero padding
    after the last member is accepted, as gzip(1) and Docker accept it."""

    _STEP = 1 << 20

    def __init__(self, src: BinaryIO) -> None:
        self._src = src
        self._z = zlib.decompressobj(31)
        self._pending = b""  # compressed bytes read but not yet fed to ``_z``
        self._members = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        if not self._pending:
            self._pending = self._src.read(self._STEP)
        return bool(self._pending)

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        while not self._eof:
            if self._z.eof:
                if not self._next_member():
                    break
                continue
            data = self._z.unconsumed_tail or (self._pending if self._fill() else b"")
            if not data:
                raise EOFError("compressed stream ended before the end-of-stream marker")
            self._pending = b""
            try:
                out = self._z.decompress(data, min(len(view), self._STEP))
            except zlib.error as e:
                raise OSError(f"invalid gzip data: {e}") from None
            if out:
                n = len(out)
                view[:n] = out
                return n
        return 0

    def _next_member(self) -> bool:
        """After one member's trailer: start the next, or finish at end/zero padding."""
        self._members += 1
        rest = self._z.unused_data
        while True:
            rest = rest.lstrip(b"\0")
            if rest:
                break
            rest = self._src.read(self._STEP)
            if not rest:
                self._eof = True
                return False
        if not rest.startswith(b"\x1f"):
            raise OSError("invalid gzip data: trailing garbage after the last member")
        self._z = zlib.decompressobj(31)
        self._pending = rest
        return True


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
