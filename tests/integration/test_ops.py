"""pause/unpause, top, stats, update, prune, events filters, ps filters/format, health."""

from __future__ import annotations

import json
import time

import pytest

from tests import cgroups

pytestmark = pytest.mark.integration


def _wait_for(check, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_pause_top_stats(daemon) -> None:  # type: ignore[no-untyped-def]
    cid = daemon.cove("run", "-d", "--name", "ops1", "busybox", "sleep", "100",
                      check=True).stdout.strip()  # fmt: skip
    try:
        daemon.cove("pause", "ops1", check=True)
        state = cgroups.read(cid, "freezer/freezer.state", "cgroup.freeze")
        assert state == ("1" if cgroups.UNIFIED else "FROZEN")
        ps = daemon.cove("ps", "--format", "{{.Names}} {{.Status}}", "-f", "name=ops1").stdout
        assert "(Paused)" in ps
        r = daemon.cove("pause", "ops1")
        assert r.returncode != 0 and "is already paused" in r.stderr
        daemon.cove("unpause", "ops1", check=True)
        r = daemon.cove("unpause", "ops1")
        assert "is not paused" in r.stderr
        top = daemon.cove("top", "ops1", "-o", "pid,comm").stdout
        assert "sleep" in top and "PID" in top
        stats = daemon.cove("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "ops1",
                            check=True).stdout  # fmt: skip
        assert stats.strip() == "ops1 1"
        daemon.cove("pause", "ops1", check=True)
        daemon.cove("stop", "-t", "1", "ops1", check=True)  # a paused container stops
    finally:
        daemon.cove("rm", "-f", cid)


def test_ps_filters_and_formats(daemon) -> None:  # type: ignore[no-untyped-def]
    a = daemon.cove("run", "-d", "-l", "team=a", "--name", "psa", "busybox", "sleep", "100",
                    check=True).stdout.strip()  # fmt: skip
    b = daemon.cove("run", "--name", "psb", "busybox", "sh", "-c", "exit 3").stdout
    try:
        names = daemon.cove("ps", "-a", "--format", "{{.Names}}", "-f", "label=team=a").stdout
        assert names.split() == ["psa"]
        names = daemon.cove("ps", "-a", "--format", "{{.Names}}", "-f", "exited=3").stdout
        assert names.split() == ["psb"]
        names = daemon.cove("ps", "-a", "--format", "{{.Names}}", "-f", "status=running",
                            "-f", "name=ps").stdout  # fmt: skip
        assert names.split() == ["psa"]
        line = daemon.cove("ps", "--format", "{{json .}}", "-f", f"id={a[:12]}").stdout
        assert json.loads(line)["Names"] == "psa"
        table = daemon.cove("ps", "--format", "table {{.ID}}\t{{.Names}}", "-f", "name=psa").stdout
        assert table.splitlines()[0].split() == ["CONTAINER", "ID", "NAMES"]
        assert daemon.cove("inspect", "-f", "{{.State.ExitCode}}", "psb").stdout.strip() == "3"
        r = daemon.cove("container", "prune", "-f", "--filter", "label=team=a")
        assert r.returncode == 0 and "psb" not in r.stdout
        out = daemon.cove("container", "prune", "-f").stdout
        assert "Deleted Containers:" in out
        assert daemon.cove("ps", "-aq", "-f", "name=psb").stdout.strip() == ""
    finally:
        daemon.cove("rm", "-f", a, "psb")
    del b


def test_events_filters(daemon) -> None:  # type: ignore[no-untyped-def]
    since = str(int(time.time()) - 1)
    daemon.cove("run", "--rm", "--name", "evx", "-l", "ev=1", "busybox", "true", check=True)
    until = str(int(time.time()) + 1)
    out = daemon.cove("events", "--since", since, "--until", until, "-f", "container=evx",
                      "-f", "event=die").stdout  # fmt: skip
    assert out.count(" container die ") == 1, out
    out = daemon.cove("events", "--since", since, "--until", until, "-f", "label=ev=1",
                      "--format", "{{.Action}}").stdout  # fmt: skip
    assert "create" in out.split() and "destroy" in out.split()
    out = daemon.cove("events", "--since", since, "--until", until, "-f", "label=ev=2").stdout
    assert out == ""


def test_health(daemon) -> None:  # type: ignore[no-untyped-def]
    daemon.cove(
        "run", "-d", "--name", "hc", "--health-cmd", "test -e /tmp/ok", "--health-interval",
        "1s", "--health-retries", "2", "busybox", "sh", "-c", "sleep 2; touch /tmp/ok; sleep 100",
        check=True,
    )  # fmt: skip
    try:

        def status() -> str:
            return str(daemon.cove("inspect", "-f", "{{.State.Health.Status}}", "hc").stdout)

        assert _wait_for(lambda: status().strip() == "healthy")
        ps = daemon.cove("ps", "-f", "name=hc", "--format", "{{.Status}}").stdout
        assert "(healthy)" in ps
        ids = daemon.cove("ps", "-q", "-f", "health=healthy").stdout.split()
        assert len(ids) == 1
        daemon.cove("exec", "hc", "rm", "/tmp/ok", check=True)
        assert _wait_for(lambda: status().strip() == "unhealthy")
    finally:
        daemon.cove("rm", "-f", "hc")
