"""``--ipc`` modes as dockerd 20.10 applies them (checked side by side): ``container:X``
shares X's IPC namespace, ``none`` has one of its own and no /dev/shm at all, an unknown mode
is refused with dockerd's words (at create: dockerd fails the start with them)."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.integration


def test_joining_a_containers_ipc_namespace(daemon: Daemon) -> None:
    owner = "ipc" + uuid.uuid4().hex[:8]
    r = daemon.cove("run", "-d", "--name", owner, "--network", "none", "busybox", "sleep", "60")
    assert r.returncode == 0, r.stderr
    try:
        ns = daemon.cove("exec", owner, "readlink", "/proc/self/ns/ipc").stdout.strip()
        r = daemon.cove(
            "run", "--rm", "--network", "none", "--ipc", f"container:{owner}", "busybox",
            "readlink", "/proc/self/ns/ipc",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == ns != os.readlink("/proc/self/ns/ipc")
    finally:
        daemon.cove("rm", "-f", owner)


def test_ipc_none_has_no_shm_and_a_bad_mode_is_refused(daemon: Daemon) -> None:
    r = daemon.cove(
        "run", "--rm", "--network", "none", "--ipc", "none", "busybox", "sh", "-c",
        "test -e /dev/shm && echo present || echo absent; readlink /proc/self/ns/ipc",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    said, ns = r.stdout.split()
    assert said == "absent"
    assert ns != os.readlink("/proc/self/ns/ipc")  # one of its own, not the host's
    r = daemon.cove("run", "--rm", "--network", "none", "--ipc", "foo", "busybox", "true")
    assert r.returncode == 125
    assert "Error response from daemon: Invalid IPC mode: foo" in r.stderr
    assert daemon.cove("ps", "-aq").stdout.strip() == ""
