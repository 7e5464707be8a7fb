"""kill -9 of coved while containers run: they keep running, logs have no gap, and exits
that happened while the daemon was down show their real codes."""

from __future__ import annotations

import json
import signal
import time

import pytest

from tests.daemon_fixture import running_daemon

pytestmark = pytest.mark.integration


def test_containers_survive_kill_9(request: pytest.FixtureRequest) -> None:
    import os

    if os.geteuid() != 0:
        pytest.skip("needs root")
    with running_daemon() as d:
        d.cove(
            "run",
            "-d",
            "--name",
            "ticker",
            "busybox",
            "sh",
            "-c",
            "i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done",
            check=True,
        )
        d.cove(
            "run", "-d", "--name", "quitter", "busybox", "sh", "-c", "sleep 1; exit 5", check=True
        )
        d.cove("run", "-d", "--rm", "--name", "vanisher", "busybox", "sleep", "1", check=True)
        time.sleep(0.5)
        d.stop(signal.SIGKILL)
        time.sleep(2)  # quitter and vanisher exit while no daemon runs
        d.start()
        ps = d.cove("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout
        assert "ticker Up" in ps, ps
        assert "quitter Exited (5)" in ps, ps
        assert "vanisher" not in ps, ps
        info = json.loads(d.cove("inspect", "quitter").stdout)[0]
        assert info["State"]["ExitCode"] == 5
        time.sleep(0.5)
        nums = [int(x) for x in d.cove("logs", "ticker").stdout.split()]
        assert nums == list(range(len(nums))) and len(nums) > 20
        assert d.cove("stop", "-t", "1", "ticker").returncode == 0
