"""Restart policies carried out by the daemon, and across a daemon restart."""

from __future__ import annotations

import json
import time

import pytest

from tests.daemon_fixture import running_daemon

pytestmark = pytest.mark.integration


def _inspect(d, name: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    return json.loads(d.cove("inspect", name).stdout)[0]  # type: ignore[no-any-return]


def _wait(check, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_on_failure_counts_and_stops(daemon) -> None:  # type: ignore[no-untyped-def]
    daemon.cove("run", "-d", "--name", "of2", "--restart", "on-failure:2", "busybox", "sh", "-c",
                "exit 3", check=True)  # fmt: skip
    try:
        assert _wait(lambda: _inspect(daemon, "of2")["RestartCount"] == 2)
        assert _wait(lambda: _inspect(daemon, "of2")["State"]["Status"] == "exited")
        time.sleep(1)
        info = _inspect(daemon, "of2")
        assert info["RestartCount"] == 2 and info["State"]["ExitCode"] == 3
    finally:
        daemon.cove("rm", "-f", "of2")


def test_always_restarts_until_stopped(daemon) -> None:  # type: ignore[no-untyped-def]
    daemon.cove("run", "-d", "--name", "al", "--restart", "always", "busybox", "sh", "-c",
                "sleep 0.3", check=True)  # fmt: skip
    try:
        assert _wait(lambda: _inspect(daemon, "al")["RestartCount"] >= 2)
        daemon.cove("stop", "-t", "0", "al", check=True)
        count = _inspect(daemon, "al")["RestartCount"]
        time.sleep(1.5)
        info = _inspect(daemon, "al")
        assert info["State"]["Status"] == "exited" and info["RestartCount"] == count
    finally:
        daemon.cove("rm", "-f", "al")


def test_policies_survive_a_daemon_restart() -> None:
    with running_daemon() as d:
        d.cove("run", "-d", "--name", "always", "--restart", "always", "busybox", "sleep", "100",
               check=True)  # fmt: skip
        d.cove("run", "-d", "--name", "unless", "--restart", "unless-stopped", "busybox", "sleep",
               "100", check=True)  # fmt: skip
        d.cove("run", "-d", "--name", "hc", "--restart", "always", "--health-cmd", "true",
               "--health-interval", "1s", "busybox", "sleep", "100", check=True)  # fmt: skip
        d.cove("stop", "-t", "0", "unless", check=True)
        assert _wait(lambda: _inspect(d, "hc")["State"]["Health"]["Status"] == "healthy")
        d.stop()
        # the containers are killed while no daemon watches them
        for name in ("always", "hc"):
            pid = 0
            with open(f"{d.data_root}/containers/{_id(d, name)}/config.v2.json") as f:
                pid = json.load(f)["State"]["Pid"]
            import os
            import signal

            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        d.start()
        ps = d.cove("ps", "--format", "{{.Names}}").stdout.split()
        assert "always" in ps and "hc" in ps and "unless" not in ps
        assert _inspect(d, "always")["State"]["Running"]
        assert _wait(lambda: _inspect(d, "hc")["State"]["Health"]["Status"] == "healthy")


def _id(d, name: str) -> str:  # type: ignore[no-untyped-def]
    import os

    for cid in os.listdir(f"{d.data_root}/containers"):
        with open(f"{d.data_root}/containers/{cid}/config.v2.json") as f:
            if json.load(f)["Name"] == "/" + name:
                return cid
    raise AssertionError(name)
