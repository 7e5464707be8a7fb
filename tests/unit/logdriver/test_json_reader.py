"""The reader on Docker's json-file: every generation in order (gzip too), --tail counting
messages from the end, --since/--until, -t, follow through the keeper's rotation."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from cove.logdriver import cri
from cove.logdriver import reader as reader_mod
from cove.logdriver.jsonlog import Converter
from cove.logdriver.reader import LogReader
from tests.unit.logdriver.helpers import read_all


def lines(start: int, end: int) -> bytes:
    """Docker's lines for output ``line<i>`` at 00:<i // 60>:<i % 60>."""
    recs = b"".join(
        b"2026-01-01T00:%02d:%02d.500000000+00:00 %b F line%d\n"
        % (i // 60, i % 60, b"stderr" if i % 7 == 0 else b"stdout", i)
        for i in range(start, end)
    )
    return Converter().feed(recs)


def expect(start: int, end: int, skip_stderr: bool = False) -> bytes:
    return b"".join(b"line%d\n" % i for i in range(start, end) if not (skip_stderr and i % 7 == 0))


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_mod, "BLOCK", 100)  # many blocks even for small files


@pytest.fixture
def log(tmp_path: Path) -> str:
    path = str(tmp_path / "abc-json.log")
    with open(path + ".2.gz", "wb") as f:
        f.write(gzip.compress(lines(0, 10)))
    with open(path + ".1", "wb") as f:
        f.write(lines(10, 20))
    with open(path, "wb") as f:
        f.write(lines(20, 30))
        f.write(b'{"log":"torn')  # a line being written: not read yet
    return path


def test_all_generations(log: str) -> None:
    assert read_all(log) == expect(0, 30)
    assert read_all(log, streams=frozenset((cri.STDOUT,))) == expect(0, 30, skip_stderr=True)


def test_tail_counts_messages_from_the_end(log: str) -> None:
    assert read_all(log, tail=3) == expect(27, 30)
    assert read_all(log, tail=15) == expect(15, 30)  # into the rotated file
    assert read_all(log, tail=25) == expect(5, 30)  # into the compressed one
    assert read_all(log, tail=0) == b""


def test_since_until_and_timestamps(log: str) -> None:
    t0 = 1767225600.0  # 2026-01-01T00:00:00Z
    assert read_all(log, since=t0 + 12, until=t0 + 14.6) == expect(12, 15)
    out = read_all(log, tail=1, timestamps=True)
    assert out == b"2026-01-01T00:00:29.500000000Z line29\n"


def test_follow_through_rotation(log: str) -> None:
    r = LogReader(log, follow=True, tail=0)
    while (chunks := r.step()) is not None:
        assert chunks == []  # the torn line is held until its end comes
    with open(log, "ab") as f:
        f.write(b'","stream":"stdout","time":"2026-01-01T00:01:00Z"}\n')
    got = b""
    while (chunks := r.step()) is not None:
        got += b"".join(d for _s, d in chunks)
    assert got == b"torn"
    # the keeper's rotation: the live file renamed aside, a new one started, and one more
    # rotation before the follower looks again
    os.rename(log, log + ".pending.1")
    with open(log, "wb") as f:
        f.write(lines(40, 42))
    os.rename(log, log + ".pending.2")
    with open(log, "wb") as f:
        f.write(lines(42, 44))
    out = b""
    while (chunks := r.step()) is not None:
        out += b"".join(d for _s, d in chunks)
    assert out == expect(40, 44)
    r.close()
