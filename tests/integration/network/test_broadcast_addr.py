"""A container's eth0 and its bridge carry the subnet's broadcast address, as dockerd's
(seen side by side: `ip -4 addr` shows `brd`)."""

from __future__ import annotations

import pytest

from tests.daemon_fixture import Daemon
from tests.integration.network.conftest import unique

pytestmark = pytest.mark.integration


def test_eth0_and_bridge_have_brd(daemon: Daemon) -> None:
    net = unique("brd")
    daemon.cove("network", "create", "--subnet", "10.231.77.0/24", net, check=True)
    try:
        r = daemon.cove(
            "run", "--rm", "--network", net, "busybox", "ip", "-4", "-o", "addr", "show", "eth0"
        )
        assert r.returncode == 0, r.stderr
        assert "inet 10.231.77.2/24 brd 10.231.77.255 " in r.stdout
        r = daemon.cove("run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0")
        assert " brd " in r.stdout, r.stdout
    finally:
        daemon.cove("network", "rm", net)
