"""ReadAhead: a source read in a thread of its own, errors surfacing where they happen."""

from __future__ import annotations

import io
import threading

import pytest

from cove.util.queueio import ReadAhead


def test_reads_everything_in_order() -> None:
    data = bytes(range(256)) * 20000
    r = ReadAhead(io.BytesIO(data), chunk=4096, depth=2)
    out = bytearray()
    while chunk := r.read(1000):
        out += chunk
    r.close()
    assert bytes(out) == data


class _Failing:
    def __init__(self) -> None:
        self.n = 0

    def read(self, n: int) -> bytes:
        self.n += 1
        if self.n > 3:
            raise ConnectionResetError("peer went away")
        return b"x" * n


def test_a_source_error_reaches_the_consumer_after_the_good_data() -> None:
    r = ReadAhead(_Failing(), chunk=10, depth=8)
    assert r.read(30) in (b"x" * 10, b"x" * 30)
    with pytest.raises(ConnectionResetError):
        while r.read(10):
            pass
    r.close()


class _Endless:
    def read(self, n: int) -> bytes:
        return b"y" * n


def test_close_stops_a_pump_the_consumer_abandoned() -> None:
    before = threading.active_count()
    r = ReadAhead(_Endless(), chunk=10, depth=1)
    assert r.read(5) == b"yyyyy"
    r.close()
    assert threading.active_count() == before
