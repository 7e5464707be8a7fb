"""The json-file pump in process: records written into a real FIFO come out as Docker's
lines in ``<id>-json.log``, rotated at max-size, max-file kept, gzipped with compress; the
entry ends once its monitor (here a short sleep) exited and the FIFO is read."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from cove.logdriver import files
from cove.logdriver import pump as pump_mod
from cove.logdriver.pump import JsonPump, open_fifo
from tests.unit.logdriver.helpers import wait_for

TS = b"2026-12-07T04:22:46.192818170+00:00"


def _lines(path: str) -> list[dict[str, str]]:
    out = []
    for name, gz in [*files.readable(path), (path, False)]:
        opener = gzip.open if gz else open
        with opener(name, "rb") as f:
            out += [json.loads(x) for x in f.read().splitlines()]
    return out


def _run(tmp_path: Path, records: bytes, max_size: int, max_file: int, gz: bool) -> str:
    path = str(tmp_path / "abc-json.log")
    fifo = str(tmp_path / "json-log.fifo")
    rd = open_fifo(fifo)
    monitor = subprocess.Popen(["sleep", "1"])
    pump = JsonPump()
    try:
        pump.watch("abc.json", path, fifo, max_size, max_file, gz, monitor.pid, fd=rd)
        wr = os.open(fifo, os.O_WRONLY)
        os.write(wr, records)
        os.close(wr)
        monitor.wait()
        wait_for(lambda: pump.finished() == ["abc.json"])
        time.sleep(0.3)  # the rotation thread's last shift and compression
        wait_for(
            lambda: not any(".pending." in n or n.endswith(".tmp") for n in os.listdir(tmp_path))
        )
    finally:
        pump.close()
    return path


def test_docker_lines_and_the_held_end(tmp_path: Path) -> None:
    recs = TS + b" stdout F hello\n" + TS + b" stderr F oops\n" + TS + b" stdout P no-eol\n"
    path = _run(tmp_path, recs, 1 << 20, 5, False)
    assert [(o["stream"], o["log"]) for o in _lines(path)] == [
        ("stdout", "hello\n"),
        ("stderr", "oops\n"),
        ("stdout", "no-eol"),
    ]
    assert os.stat(path).st_mode & 0o777 == 0o640


def test_rotation_keeps_max_file_and_compresses(tmp_path: Path) -> None:
    n = 3000
    recs = b"".join(TS + b" stdout F line %05d\n" % i for i in range(n))
    path = _run(tmp_path, recs, 10 * 1024, 3, True)
    names = sorted(os.listdir(tmp_path))
    assert names == ["abc-json.log", "abc-json.log.1.gz", "abc-json.log.2.gz", "json-log.fifo"]
    got = [o["log"] for o in _lines(path)]
    # the newest lines, in order, none lost inside what is kept
    assert got == [f"line {i:05d}\n" for i in range(n - len(got), n)]
    assert os.path.getsize(path) < 10 * 1024 + 200


def _asked(pump: JsonPump, name: str) -> threading.Event:
    answered = threading.Event()
    pump.drain(name, answered.set)
    return answered


def test_drain_answers_once_the_fifo_is_written(tmp_path: Path) -> None:
    """Read-your-writes: once a drain is answered, what was in the FIFO when it was asked is
    in the file; a name the pump does not watch is answered at once."""
    path = str(tmp_path / "abc-json.log")
    fifo = str(tmp_path / "json-log.fifo")
    rd = open_fifo(fifo)
    monitor = subprocess.Popen(["sh", "-c", "sleep 30 & wait"])  # has a child: a running container
    children = f"/proc/{monitor.pid}/task/{monitor.pid}/children"
    wait_for(lambda: Path(children).read_text().strip())
    pump = JsonPump()
    try:
        pump.watch("abc.json", path, fifo, 1 << 20, 5, False, monitor.pid, fd=rd)
        wr = os.open(fifo, os.O_WRONLY)
        for i in range(50):
            os.write(wr, TS + b" stdout F line %02d\n" % i)
            assert _asked(pump, "abc.json").wait(10)
            assert _lines(path)[-1]["log"] == f"line {i:02d}\n"
        os.close(wr)
        assert _asked(pump, "nobody.json").wait(10)
    finally:
        _kill_tree(monitor)
        pump.close()


def test_drain_of_an_ended_container_waits_for_its_monitor(tmp_path: Path) -> None:
    """A monitor without a child (its container exited) may still be forwarding output: the
    answer comes when the monitor has exited and the entry ended (a line without its newline
    written too)."""
    path = str(tmp_path / "abc-json.log")
    fifo = str(tmp_path / "json-log.fifo")
    rd = open_fifo(fifo)
    wr = os.open(fifo, os.O_WRONLY)
    # the monitor's part: it writes its last records after a pause, then exits
    monitor = subprocess.Popen([
        sys.executable, "-c",
        "import os, sys, time; time.sleep(0.5); "
        "os.write(int(sys.argv[1]), sys.argv[2].encode())",
        str(wr), (TS + b" stdout F last\n" + TS + b" stdout P no-eol").decode(),
    ], pass_fds=(wr,))  # fmt: skip
    os.close(wr)
    pump = JsonPump()
    try:
        pump.watch("abc.json", path, fifo, 1 << 20, 5, False, monitor.pid, fd=rd)
        assert _asked(pump, "abc.json").wait(10)
        assert [o["log"] for o in _lines(path)] == ["last\n", "no-eol"]
        assert pump.finished() == ["abc.json"]
    finally:
        monitor.wait()
        pump.close()


def test_unread_counts_what_the_monitor_has_not_read() -> None:
    """The bytes a monitor's child wrote into its stdout pipe that nobody read yet."""
    monitor = subprocess.Popen(["sh", "-c", "sh -c 'echo hi; exec sleep 30' | sleep 30"])
    try:
        wait_for(lambda: pump_mod._unread(monitor.pid) == 3)
    finally:
        _kill_tree(monitor)


def _kill_tree(monitor: subprocess.Popen[bytes]) -> None:
    """The monitor's children by their ids, then the monitor."""
    children = Path(f"/proc/{monitor.pid}/task/{monitor.pid}/children")
    with contextlib.suppress(OSError):
        for child in children.read_text().split():
            with contextlib.suppress(OSError):
                os.kill(int(child), signal.SIGKILL)
    monitor.kill()
    monitor.wait()
