"""``logs`` right after a container's output shows it (docker-py's
``test_build_in_context_dockerfile`` does start, then logs without waiting): coved asks the
log keeper to convert what is in the container's FIFO (and what conmon has yet to read from
the container's pipes), and for a container that has just exited to wait until its monitor
has written the rest, before it reads the json-file log.  Looped, because the conversion
races the read.  (On this machine neither test failed before the drain: the failures seen
before it were rounds where the container may not have written yet, which the marks of
the second test now tell apart; these hold the behaviour.)"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.integration

ROUNDS = 20
CMD = ["sh", "-c", "echo a; echo b; echo c; echo d"]
WANT = b"a\nb\nc\nd\n"


def _exited(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] == b"Z"
    except OSError:
        return True


Ready = Callable[[Any, dict[str, Any], int], None]  # (client, container, round)


def _rounds(
    daemon: Daemon, cmd: Callable[[int], list[str]], ready: Ready, **create: Any
) -> list[tuple[int, bytes]]:
    """ROUNDS containers: create, start, ``ready``, then logs at once (no wait for the
    container's stop, as docker-py's test); (round, what logs gave) for each."""
    docker = pytest.importorskip("docker")
    client = docker.APIClient(base_url=daemon.host, version="auto")
    out = []
    try:
        for i in range(ROUNDS):
            ctnr = client.create_container("busybox", cmd(i), **create)
            try:
                client.start(ctnr)
                ready(client, ctnr, i)
                out.append((i, client.logs(ctnr)))
                client.wait(ctnr, timeout=60)
            finally:
                client.remove_container(ctnr, force=True)
    finally:
        client.close()
    return out


def test_logs_right_after_the_output(daemon: Daemon) -> None:
    """logs asked as soon as the container's process has exited (its monitor may still be
    forwarding its output then)."""

    def exited(client: Any, ctnr: dict[str, Any], _i: int) -> None:
        pid = int(client.inspect_container(ctnr)["State"]["Pid"] or 0)
        end = time.monotonic() + 30
        while pid and not _exited(pid) and time.monotonic() < end:
            time.sleep(0.001)

    missed = [r for r in _rounds(daemon, lambda _i: CMD, exited) if r[1] != WANT]
    assert not missed, f"{len(missed)} of {ROUNDS} rounds: {missed[:3]}"


# one write of four lines (as ``ls -a`` into a pipe), then: had the test asked already?
MARKED = "printf 'a\\nb\\nc\\nd\\n'; [ -e /m/asked-$0 ] && touch /m/late-$0; exit 0"


def test_logs_right_after_start(daemon: Daemon) -> None:
    """start, then logs at once, the container still running or just exiting: a round
    counts when the container had written before logs was asked (the test leaves a mark in
    a bind-mounted directory just before it asks; the container looks for it right after
    its write)."""
    with tempfile.TemporaryDirectory() as marks:

        def asking(_client: Any, _ctnr: dict[str, Any], i: int) -> None:
            open(os.path.join(marks, f"asked-{i}"), "w").close()

        docker = pytest.importorskip("docker")
        got = _rounds(
            daemon, lambda i: ["sh", "-c", MARKED, str(i)], asking,
            host_config=docker.APIClient(base_url=daemon.host, version="auto")
            .create_host_config(binds=[f"{marks}:/m"]),
        )  # fmt: skip
        # a round where the container wrote after logs was asked shows nothing anywhere
        counted = [r for r in got if not os.path.exists(os.path.join(marks, f"late-{r[0]}"))]
    assert counted, "the container wrote after logs was asked in every round"
    missed = [r for r in counted if r[1] != WANT]
    assert not missed, f"{len(missed)} of {len(counted)} rounds: {missed[:3]}"
