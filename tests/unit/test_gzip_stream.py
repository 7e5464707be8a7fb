"""The zlib-based gzip reader that layer pulls and loads go through."""

from __future__ import annotations

import gzip
import io
import os
import zlib

import pytest

from cove.archive.compression import GzipStream, decompress


def _read_all(data: bytes, step: int = 1 << 16) -> bytes:
    stream, kind = decompress(io.BytesIO(data))
    assert kind == "gzip"
    out = []
    while chunk := stream.read(step):
        out.append(chunk)
    return b"".join(out)


def test_round_trip_of_incompressible_and_compressible_data() -> None:
    payload = os.urandom(3 << 20) + b"\0" * (5 << 20) + b"tail"
    assert _read_all(gzip.compress(payload, 1)) == payload


def test_several_members_and_zero_padding_are_one_stream() -> None:
    a, b = os.urandom(70000), b"second member" * 1000
    data = gzip.compress(a) + gzip.compress(b) + b"\0" * 1024
    assert _read_all(data, 4096) == a + b


def test_output_per_read_is_bounded_for_a_bomb() -> None:
    bomb = gzip.compress(b"\0" * (64 << 20), 9)
    r = GzipStream(io.BytesIO(bomb))
    buf = bytearray(64 << 20)
    assert r.readinto(buf) <= 1 << 20


def test_truncated_stream_is_an_error() -> None:
    data = gzip.compress(os.urandom(200000))
    with pytest.raises(EOFError):
        _read_all(data[: len(data) // 2])


def test_bad_checksum_is_an_error() -> None:
    data = bytearray(gzip.compress(b"hello world" * 1000))
    data[-8] ^= 0xFF  # the CRC32 in the trailer
    with pytest.raises(OSError, match="invalid gzip data"):
        _read_all(bytes(data))


def test_garbage_after_the_last_member_is_an_error() -> None:
    with pytest.raises(OSError, match="trailing garbage"):
        _read_all(gzip.compress(b"x" * 100) + b"junk")


def test_raw_deflate_is_not_taken_for_gzip() -> None:
    r = GzipStream(io.BytesIO(b"\x1f\x8b" + zlib.compress(b"abc")[2:]))
    with pytest.raises(OSError):
        r.read()
