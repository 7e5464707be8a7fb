"""``--runtime``: a container runs under the OCI runtime it names (crun by default, runc when
asked), and every later operation (exec, pause, stop) goes to that same runtime."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.integration


def _listed(runtime: str, root: str) -> str:
    r = subprocess.run([runtime, f"--root={root}", "list"], capture_output=True, text=True)
    return r.stdout


@pytest.mark.skipif(shutil.which("runc") is None, reason="runc is not installed")
def test_run_under_runc_and_crun(daemon: Daemon) -> None:
    root = f"{daemon.exec_root}/runtime"
    try:
        daemon.cove("run", "-d", "--runtime", "runc", "--name", "under-runc", "busybox",
                    "sleep", "60", check=True)  # fmt: skip
        daemon.cove("run", "-d", "--name", "under-crun", "busybox", "sleep", "60", check=True)
        runc_id = daemon.cove("inspect", "-f", "{{.Id}}", "under-runc").stdout.strip()
        crun_id = daemon.cove("inspect", "-f", "{{.Id}}", "under-crun").stdout.strip()
        # each runtime knows its own container (and only that one) as running
        assert runc_id in _listed("runc", root) and crun_id not in _listed("runc", root)
        assert crun_id in _listed("crun", root)
        hc = json.loads(daemon.cove("inspect", "under-runc").stdout)[0]["HostConfig"]
        assert hc["Runtime"] == "runc"
        hc = json.loads(daemon.cove("inspect", "under-crun").stdout)[0]["HostConfig"]
        assert hc["Runtime"] == "crun"
        assert daemon.cove("exec", "under-runc", "echo", "ok").stdout.strip() == "ok"
        daemon.cove("pause", "under-runc", check=True)
        daemon.cove("unpause", "under-runc", check=True)
        daemon.cove("stop", "-t", "1", "under-runc", check=True)
        daemon.cove("start", "under-runc", check=True)
        assert runc_id in _listed("runc", root)
        info = json.loads(daemon.cove("info", "--format", "{{json .Runtimes}}").stdout)
        assert {"crun", "runc"} <= set(info)
        r = daemon.cove("run", "--rm", "--runtime", "nope", "busybox", "true")
        assert r.returncode == 125 and "unknown or invalid runtime name: nope" in r.stderr
    finally:
        daemon.cove("rm", "-f", "under-runc", "under-crun")
