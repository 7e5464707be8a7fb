"""The keeper process and a json-file log: the FIFO handed over by descriptor, the keeper
killed while a writer (conmon's part, played here by a process that ignores SIGPIPE as
conmon does) goes on, and a new keeper taking the FIFO again by its name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cove.logdriver import keeperd
from cove.logdriver.options import LogPlan
from cove.logdriver.pump import open_fifo
from tests.unit.logdriver.helpers import wait_for

TS = b"2026-12-07T04:22:46.192818170+00:00"

# conmon's part: write records into the FIFO, ignore SIGPIPE, count the failed writes
WRITER = r"""
import os, signal, sys, time
signal.signal(signal.SIGPIPE, signal.SIG_IGN)
fd = os.open(sys.argv[1], os.O_WRONLY)
failed = 0
for i in range(int(sys.argv[2])):
    try:
        os.write(fd, b"%s stdout F line %05d\n" % (sys.argv[3].encode(), i))
    except BrokenPipeError:
        failed += 1
    time.sleep(0.002)
print(failed)
"""


def _keeper(control: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "cove.logdriver.keeperd", "--control", control])
    end = time.monotonic() + 10
    while not os.path.exists(os.path.join(control, keeperd.SOCKET)):
        assert time.monotonic() < end and proc.poll() is None
        time.sleep(0.02)
    return proc


def test_keeper_killed_and_back(tmp_path: Path) -> None:
    control = str(tmp_path / "log-keeper")
    cdir = tmp_path / "c1"
    cdir.mkdir()
    path = str(cdir / "c1-json.log")
    fifo = str(cdir / "json-log.fifo")
    first = _keeper(control)
    fd = open_fifo(fifo)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, fifo, "1500", TS.decode()], stdout=subprocess.PIPE
    )
    keeperd.write_entry(control, "c1", path, LogPlan("json-file"), writer.pid, fifo=fifo)
    assert keeperd.hand_over(control, "c1", fd)
    os.close(fd)  # the keeper holds the FIFO now
    second = None
    try:
        wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 2000, 15.0)
        first.kill()  # the writer's records fail (EPIPE) meanwhile; it never blocks
        first.wait()
        time.sleep(0.3)
        second = _keeper(control)  # opens the FIFO again by the entry's name
        out, _ = writer.communicate(timeout=60)
        failed = int(out)
        # the entry ends once the writer (the "monitor") exited and the FIFO is drained
        wait_for(lambda: not os.path.exists(os.path.join(control, "c1.json")), 15.0)
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(10)
        if writer.poll() is None:
            writer.kill()
    with open(path, "rb") as f:
        got = [json.loads(x)["log"] for x in f.read().splitlines()]
    assert failed > 0  # written while no keeper held the FIFO: dropped, as documented
    # besides, what the killed keeper had read but not yet written (a read or two)
    assert 1500 - 50 <= len(got) + failed <= 1500
    assert got == sorted(got) and got[-1] == "line 01499\n"
