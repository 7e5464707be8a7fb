"""The real docker CLI pointed at coved gets what it gets from dockerd."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.compat

DOCKERS = [p for p in ("/usr/local/bin/docker", "/usr/bin/docker") if shutil.which(p)]


def docker(
    d: Daemon, exe: str, *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, env=d.env, input=input, timeout=60
    )


@pytest.fixture(params=DOCKERS or ["none"])
def exe(request: pytest.FixtureRequest) -> str:
    if request.param == "none":
        pytest.skip("no docker CLI installed")
    return str(request.param)


def test_version_and_info(daemon: Daemon, exe: str) -> None:
    r = docker(daemon, exe, "version", "--format", "{{.Server.APIVersion}}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1.44"
    r = docker(daemon, exe, "info", "--format", "{{.Driver}}")
    assert r.returncode == 0, r.stderr


def test_run_rm(daemon: Daemon, exe: str) -> None:
    r = docker(daemon, exe, "run", "--rm", "busybox", "echo", "hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello\n"
    r = docker(daemon, exe, "run", "--rm", "-i", "busybox", "cat", input="piped\n")
    assert r.stdout == "piped\n", r.stderr
    assert docker(daemon, exe, "run", "--rm", "busybox", "sh", "-c", "exit 4").returncode == 4
    r = docker(daemon, exe, "run", "--rm", "busybox", "nope-cmd")
    assert r.returncode == 127, r.stderr


def test_detached_ps_logs_exec_inspect_stop_rm(daemon: Daemon, exe: str) -> None:
    r = docker(
        daemon,
        exe,
        "run",
        "-d",
        "--name",
        "dweb",
        "busybox",
        "sh",
        "-c",
        "echo ready; exec sleep 1000",
    )
    assert r.returncode == 0, r.stderr
    try:
        ps = docker(daemon, exe, "ps")
        assert "dweb" in ps.stdout, ps.stderr
        assert docker(daemon, exe, "exec", "dweb", "echo", "in").stdout == "in\n"
        assert docker(daemon, exe, "exec", "dweb", "sh", "-c", "exit 9").returncode == 9
        out = docker(daemon, exe, "exec", "-t", "dweb", "echo", "tty")
        assert out.stdout.replace("\r", "") == "tty\n"
        for _ in range(30):
            if docker(daemon, exe, "logs", "dweb").stdout:
                break
        assert docker(daemon, exe, "logs", "dweb").stdout == "ready\n"
        info = json.loads(docker(daemon, exe, "inspect", "dweb").stdout)[0]
        assert info["State"]["Status"] == "running"
        assert docker(daemon, exe, "stop", "-t", "1", "dweb").returncode == 0
        st = docker(daemon, exe, "inspect", "-f", "{{.State.Status}}", "dweb").stdout.strip()
        assert st == "exited"
    finally:
        docker(daemon, exe, "rm", "-f", "dweb")
    r = docker(daemon, exe, "rm", "dweb")
    assert r.returncode != 0 and "No such container: dweb" in r.stderr


def test_images(daemon: Daemon, exe: str) -> None:
    r = docker(daemon, exe, "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert "busybox:latest" in r.stdout.split(), r.stderr
    assert docker(daemon, exe, "tag", "busybox", "dockertag:x").returncode == 0
    r = docker(daemon, exe, "rmi", "dockertag:x")
    assert "Untagged: dockertag:x" in r.stdout, r.stderr
