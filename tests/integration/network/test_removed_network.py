"""A network removed while a stopped container still names it must not break other
containers (found by docker-py's build-with-network test)."""

from __future__ import annotations

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.integration


def test_stale_network_reference(daemon: Daemon) -> None:
    assert daemon.cove("network", "create", "stalenet").returncode == 0
    r = daemon.cove("run", "--name", "stale", "--network", "stalenet", "busybox", "true")
    assert r.returncode == 0, r.stderr
    try:
        assert daemon.cove("network", "rm", "stalenet").returncode == 0
        r = daemon.cove("run", "--rm", "busybox", "echo", "fine")
        assert r.returncode == 0 and r.stdout == "fine\n", r.stderr
        r = daemon.cove("start", "stale")
        assert r.returncode == 1 and "network stalenet not found" in r.stderr
    finally:
        daemon.cove("rm", "-f", "stale")
