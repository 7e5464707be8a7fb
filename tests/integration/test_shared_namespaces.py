"""Joining another container's namespaces, as compose's `pid: service:x` and
`network_mode: service:x` ask (checked side by side with dockerd 20.10): the docker CLI
against the suite's coved."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.integration

DOCKER = shutil.which("docker")


def docker(d: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    assert DOCKER is not None
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, env=d.env, timeout=60)


@pytest.fixture
def target(daemon: Daemon) -> Iterator[str]:
    """A running container with a host name, a domain, an extra host and DNS of its own."""
    if DOCKER is None:
        pytest.skip("no docker CLI installed")
    name = "ns" + uuid.uuid4().hex[:8]
    r = docker(
        daemon,
        "run",
        "-d",
        "--name",
        name,
        "--hostname",
        "owner",
        "--domainname",
        "example.internal",
        "--add-host",
        "extra.example:10.9.9.9",
        "--dns",
        "10.9.9.53",
        "busybox",
        "sleep",
        "300",
    )
    assert r.returncode == 0, r.stderr
    try:
        yield name
    finally:
        docker(daemon, "rm", "-f", name)


def test_pid_container_mode_shares_the_process_tree(daemon: Daemon, target: str) -> None:
    r = docker(
        daemon, "run", "--rm", "--pid", f"container:{target}", "busybox", "ps", "-o", "pid,comm"
    )
    assert r.returncode == 0, r.stderr
    procs = [line.split() for line in r.stdout.splitlines()[1:]]
    assert ["1", "sleep"] in procs  # the target's process is PID 1 of the shared tree
    assert any(comm == "ps" and pid != "1" for pid, comm in procs)


def test_network_container_mode_takes_the_targets_names(daemon: Daemon, target: str) -> None:
    script = "hostname; cat /etc/hostname; grep extra.example /etc/hosts; cat /etc/resolv.conf"
    r = docker(
        daemon, "run", "--rm", "--network", f"container:{target}", "busybox", "sh", "-c", script
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == ["owner", "owner"]
    assert lines[2].split() == ["10.9.9.9", "extra.example"]
    assert "nameserver 10.9.9.53" in lines[3:]


def test_joining_a_missing_or_stopped_container(daemon: Daemon, target: str) -> None:
    r = docker(daemon, "create", "--pid", "container:no-such-ns-owner", "busybox")
    assert r.returncode == 1  # a 400: the CLI does not take it for a missing image
    assert "Error response from daemon: No such container: no-such-ns-owner" in r.stderr
    assert "Unable to find image" not in r.stderr
    full = docker(daemon, "inspect", "-f", "{{.Id}}", target).stdout.strip()
    assert docker(daemon, "stop", "-t", "0", target).returncode == 0
    words = {
        "--pid": f"container {full} is not running",
        "--network": f"cannot join network of a non running container: {full}",
        "--ipc": f"can't join IPC of container {full}: container {full} is not running",
    }
    for flag, said in words.items():
        r = docker(daemon, "run", "--rm", flag, f"container:{target}", "busybox", "true")
        assert r.returncode == 125 and said in r.stderr, (flag, r.stderr)
