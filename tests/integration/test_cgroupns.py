"""``--cgroupns``: applied as dockerd 20.10 applies it (checked side by side), never dropped:
private gives the container a cgroup namespace of its own, host shares the host's, the
default is named in the record (host on v1 and hybrid layouts, private on cgroup2-only
hosts), and a mode dockerd does not know is its 400."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.integration


def _ns_of(daemon: Daemon, *flags: str) -> str:
    r = daemon.cove(
        "run", "--rm", "--network", "none", *flags, "busybox", "readlink", "/proc/self/ns/cgroup"
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_private_and_host_cgroup_namespaces(daemon: Daemon) -> None:
    host = os.readlink("/proc/self/ns/cgroup")
    assert _ns_of(daemon, "--cgroupns", "host") == host
    assert _ns_of(daemon, "--cgroupns", "private") != host
    unified = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    assert (_ns_of(daemon) == host) is not unified  # dockerd's default for the layout
    r = daemon.cove("create", "--network", "none", "busybox", "true")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    try:
        shown = daemon.cove("inspect", "-f", "{{.HostConfig.CgroupnsMode}}", cid).stdout.strip()
        assert shown == ("private" if unified else "host")
    finally:
        daemon.cove("rm", "-f", cid)


def test_an_unknown_mode_is_dockerds_400(daemon: Daemon) -> None:
    body = {"Image": "busybox", "HostConfig": {"NetworkMode": "none", "CgroupnsMode": "foo"}}
    r = subprocess.run(
        ["curl", "-s", "-w", "\n%{http_code}", "--unix-socket", daemon.socket,
         "-H", "Content-Type: application/json", "-d", json.dumps(body),
         "http://cove/v1.41/containers/create"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    reply, _, status = r.stdout.rpartition("\n")
    assert status == "400"
    assert json.loads(reply) == {"message": "invalid cgroup namespace mode: foo"}
    assert daemon.cove("ps", "-aq").stdout.strip() == ""


def test_the_docker_cli_gets_the_same(daemon: Daemon) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI installed")
    r = subprocess.run(
        [docker, "run", "--rm", "--network", "none", "--cgroupns", "private", "--ipc", "none",
         "busybox", "sh", "-c", "readlink /proc/self/ns/cgroup; test -e /dev/shm || echo no-shm"],
        capture_output=True, text=True, env=daemon.env, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    ns, shm = r.stdout.split()
    assert ns != os.readlink("/proc/self/ns/cgroup") and shm == "no-shm"
