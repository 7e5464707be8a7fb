"""``--ipc`` modes as dockerd 20.10 applies them (checked side by side): ``container:X``
shares X's IPC namespace when X is ``shareable`` (dockerd refuses a private one, with these
words), ``none`` has one of its own and no /dev/shm at all, an unknown mode is refused with
dockerd's words (at create: dockerd fails the start with them)."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.integration


def test_joining_a_shareable_containers_ipc_namespace_only(daemon: Daemon) -> None:
    owner = "ipc" + uuid.uuid4().hex[:8]
    r = daemon.cove(
        "run", "-d", "--name", owner, "--ipc", "shareable", "--network", "none", "busybox",
        "sleep", "60",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    private = "ipc" + uuid.uuid4().hex[:8]
    r = daemon.cove("run", "-d", "--name", private, "--network", "none", "busybox", "sleep", "60")
    assert r.returncode == 0, r.stderr
    try:
        full = daemon.cove("inspect", "-f", "{{.Id}}", private).stdout.strip()
        r = daemon.cove(
            "run", "--rm", "--network", "none", "--ipc", f"container:{private}", "busybox", "true"
        )
        assert r.returncode == 125
        assert (
            f"Error response from daemon: can't join IPC of container {full}: non-shareable IPC "
            "(hint: use IpcMode:shareable for the donor container)"
        ) in r.stderr
        ns = daemon.cove("exec", owner, "readlink", "/proc/self/ns/ipc").stdout.strip()
        r = daemon.cove(
            "run", "--rm", "--network", "none", "--ipc", f"container:{owner}", "busybox",
            "readlink", "/proc/self/ns/ipc",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == ns != os.readlink("/proc/self/ns/ipc")
    finally:
        daemon.cove("rm", "-f", owner, private)


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
