"""``logs`` right after a container's output shows it (docker-py's
``test_build_in_context_dockerfile`` does start, then logs without waiting): coved asks the
log keeper to convert what is in the container's FIFO, and for a container that has just
exited to wait until its monitor has written the rest, before it reads the json-file log.
Looped, because without that the keeper's conversion races the read.

Each round asks as soon as the container's process has exited (its monitor may still be
forwarding its output then): asked earlier, while the process still runs, its output may not
have left the monitor's pipe yet, under any engine."""

from __future__ import annotations

import time

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.integration

ROUNDS = 20
CMD = ["sh", "-c", "echo a; echo b; echo c; echo d"]


def _exited(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] == b"Z"
    except OSError:
        return True


def test_logs_right_after_the_output(daemon: Daemon) -> None:
    docker = pytest.importorskip("docker")
    client = docker.APIClient(base_url=daemon.host, version="auto")
    missed = []
    try:
        for i in range(ROUNDS):
            ctnr = client.create_container("busybox", CMD)
            try:
                client.start(ctnr)
                pid = int(client.inspect_container(ctnr)["State"]["Pid"] or 0)
                end = time.monotonic() + 30
                while pid and not _exited(pid) and time.monotonic() < end:
                    time.sleep(0.001)
                got = client.logs(ctnr)  # no wait for the container's stop, as docker-py's test
                client.wait(ctnr, timeout=60)
                if got != b"a\nb\nc\nd\n":
                    missed.append((i, got))
            finally:
                client.remove_container(ctnr, force=True)
    finally:
        client.close()
    assert not missed, f"{len(missed)} of {ROUNDS} rounds: {missed[:3]}"
