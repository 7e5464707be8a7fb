"""The k8s-file reader: every generation in order, --tail from the end, filters, follow
through a rotation; and the format's record parsing."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from cove.logdriver import cri, files
from cove.logdriver import reader as reader_mod
from cove.logdriver.reader import LogReader
from tests.unit.logdriver.helpers import read_all


def rec(i: int, flag: bytes = b"F", stream: bytes = b"stdout", text: bytes | None = None) -> bytes:
    data = text if text is not None else b"line%d" % i
    stamp = b"2026-01-01T00:%02d:%02d.000000001+00:00" % (i // 60, i % 60)
    return b"%b %b %b %b\n" % (stamp, stream, flag, data)


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_mod, "BLOCK", 64)  # many blocks even for small files


@pytest.fixture
def log(tmp_path: Path) -> str:
    path = str(tmp_path / "container.log")
    with open(path + ".2.gz", "wb") as f:
        f.write(gzip.compress(b"".join(rec(i) for i in range(0, 10))))
    with open(path + ".1", "wb") as f:
        f.write(b"".join(rec(i) for i in range(10, 20)))
    with open(path, "wb") as f:
        f.write(b"".join(rec(i) for i in range(20, 30)))
        f.write(rec(30, b"P") + rec(31, b"F"))  # one output line in two records
        f.write(b"2026-01-01T00:00:00.1+00:00 stdout F being writ")  # no newline yet
    return path


def lines(a: int, b: int) -> bytes:
    return b"".join(b"line%d\n" % i for i in range(a, b))


def test_everything_in_order(log: str) -> None:
    assert read_all(log) == lines(0, 30) + b"line30line31\n"


@pytest.mark.parametrize("n", [0, 1, 2, 5, 13, 25, 40])
def test_tail(log: str, n: int) -> None:
    everything = (lines(0, 30) + b"line30line31\n").splitlines(True)
    want = b"".join(everything[max(0, len(everything) - n) :]) if n else b""
    assert read_all(log, tail=n) == want


def test_timestamps_and_filters(log: str) -> None:
    out = read_all(log, tail=1, timestamps=True)
    assert out == b"2026-01-01T00:00:30.000000001Z line302026-01-01T00:00:31.000000001Z line31\n"
    since = cri.epoch(b"2026-01-01T00:00:25.000000000+00:00")
    until = cri.epoch(b"2026-01-01T00:00:26.500000000+00:00")
    assert read_all(log, since=since, until=until) == lines(25, 27)


def test_streams(tmp_path: Path) -> None:
    path = str(tmp_path / "l")
    with open(path, "wb") as f:
        f.write(rec(1) + rec(2, stream=b"stderr") + rec(3))
    reader_mod.BLOCK = 1 << 20  # one step: consecutive records of a stream make one chunk
    r = LogReader(path)
    assert r.step() == [(1, b"line1\n"), (2, b"line2\n"), (1, b"line3\n")]
    r.close()
    assert read_all(path, streams=frozenset({cri.STDERR})) == b"line2\n"


def test_follow_through_rotation(tmp_path: Path) -> None:
    path = str(tmp_path / "container.log")
    with open(path, "wb") as f:
        f.write(rec(1))
    r = LogReader(path, follow=True)
    got = b""
    while (c := r.step()) is not None:
        got += b"".join(d for _s, d in c)
    assert got == b"line1\n"
    with open(path, "ab") as f:
        f.write(rec(2))
    # what conmon does at its cap: a fresh file renamed over the log
    with open(path + ".tmp", "wb") as f:
        f.write(rec(3))
    os.rename(path + ".tmp", path)
    for _ in range(5):
        while (c := r.step()) is not None:
            got += b"".join(d for _s, d in c)
    r.close()
    assert got == b"line1\nline2\nline3\n"


def test_parse_records() -> None:
    assert cri.parse(rec(7)) == (b"2026-01-01T00:00:07.000000001+00:00", cri.STDOUT, b"line7\n")
    assert cri.parse(rec(7, b"P", b"stderr")) == (
        b"2026-01-01T00:00:07.000000001+00:00", cri.STDERR, b"line7",
    )  # fmt: skip
    assert cri.parse(b"2026 stdout F") is not None  # an empty line
    assert cri.parse(b"garbage") is None
    assert cri.docker_time(b"2026-11-28T07:18:54.5+01:00")[1] == "2026-11-28T06:18:54.500000000Z"


def test_generations_and_shift(tmp_path: Path) -> None:
    path = str(tmp_path / "container.log")
    for k in (1, 2):
        Path(f"{path}.{k}").write_bytes(b"%d" % k)
    Path(path + ".pending.1").write_bytes(b"new")
    assert files.shift_in(path, path + ".pending.1", 3) == path + ".1"
    assert [(k, Path(f).read_bytes()) for k, f, _gz in files.generations(path)] == [
        (1, b"new"), (2, b"1"),
    ]  # fmt: skip
    files.compress(path + ".1")
    assert [(k, gz) for k, _f, gz in files.generations(path)] == [(1, True), (2, False)]
    assert gzip.decompress(Path(path + ".1.gz").read_bytes()) == b"new"


def test_follower_behind_by_two_files_reads_the_one_between(tmp_path: Path) -> None:
    path = str(tmp_path / "container.log")
    Path(path).write_bytes(rec(1))
    r = LogReader(path, follow=True)
    got = b""
    while (c := r.step()) is not None:
        got += b"".join(d for _s, d in c)
    # two rotations (conmon) and their shifts (the keeper) before the follower looks again
    os.rename(path, path + ".1")
    Path(path).write_bytes(rec(2))
    os.rename(path + ".1", path + ".2")
    os.rename(path, path + ".1")
    Path(path).write_bytes(rec(3))
    for _ in range(5):
        while (c := r.step()) is not None:
            got += b"".join(d for _s, d in c)
    r.close()
    assert got == b"line1\nline2\nline3\n"
