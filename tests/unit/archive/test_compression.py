from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import sys
from typing import BinaryIO

import pytest

from cove.archive.compression import HashingReader, decompress, detect_compression, diff_id
from cove.errors import InvalidArgument
from tests.unit.archive.tarhelp import build, file

TAR = build(file("a", b"hello" * 1000), file("b/c", b"x"))


class _Pipe(io.RawIOBase):
    """A non-seekable source that returns short reads, like a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        n = min(len(b), 7, len(self._data))
        b[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


@pytest.mark.parametrize(
    ("kind", "packed"),
    [
        ("none", TAR),
        ("gzip", gzip.compress(TAR)),
        ("bzip2", bz2.compress(TAR)),
        ("xz", lzma.compress(TAR)),
    ],
)
def test_decompress_by_magic(kind: str, packed: bytes) -> None:
    assert detect_compression(packed[:6]) == kind
    stream, got = decompress(_Pipe(packed))  # type: ignore[arg-type]
    assert got == kind
    assert stream.read() == TAR
    assert diff_id(io.BytesIO(packed)) == "sha256:" + hashlib.sha256(TAR).hexdigest()


def test_zstd_layers_read_across_frames() -> None:
    import zstandard

    packed = zstandard.compress(TAR[:1000]) + zstandard.compress(TAR[1000:])
    stream, kind = decompress(io.BytesIO(packed))
    assert kind == "zstd" and stream.read() == TAR
    assert diff_id(io.BytesIO(packed)) == "sha256:" + hashlib.sha256(TAR).hexdigest()


def test_zstd_without_module_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zstandard", None)  # as if it were not installed
    with pytest.raises(InvalidArgument, match="zstandard"):
        decompress(io.BytesIO(b"\x28\xb5\x2f\xfd" + b"\0" * 20))


def test_short_input() -> None:
    stream, kind = decompress(io.BytesIO(b"ab"))
    assert kind == "none" and stream.read() == b"ab"


def test_hashing_reader_tees_and_drains() -> None:
    sink = io.BytesIO()
    h = HashingReader(io.BytesIO(TAR), sink)
    h.read(100)
    h.drain()
    assert sink.getvalue() == TAR
    assert h.size == len(TAR)
    assert h.digest() == "sha256:" + hashlib.sha256(TAR).hexdigest()


def _as_binary(b: bytes) -> BinaryIO:
    return io.BytesIO(b)
