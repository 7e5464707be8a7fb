"""Docker parity where users notice (issue 15): the docker CLI and cove against the suite's
coved get what the docker CLI gets from dockerd (20.10, checked side by side)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.compat

DOCKER = next((p for p in ("/usr/local/bin/docker", "/usr/bin/docker") if shutil.which(p)), None)


def docker(d: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    if DOCKER is None:
        pytest.skip("no docker CLI installed")
    env = {**d.env, "DOCKER_CLI_HINTS": "false"}
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, env=env, timeout=60)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def test_images_reference_lists_only_matching_tags(daemon: Daemon) -> None:
    tag = unique("busybox:p")
    daemon.cove("tag", "busybox", tag, check=True)
    try:
        fmt = "{{.Repository}}:{{.Tag}}"
        for r in (docker(daemon, "images", "--format", fmt, tag),
                  daemon.cove("images", "--format", fmt, tag)):  # fmt: skip
            assert r.stdout.split() == [tag], r.stderr
        r = daemon.cove("images", "--format", fmt, "busybox")
        assert {"busybox:latest", tag} <= set(r.stdout.split())
        assert daemon.cove("images", "-q", "nosuchrepo").stdout == ""
    finally:
        daemon.cove("rmi", tag)


def test_run_missing_path_says_no_such_file(daemon: Daemon) -> None:
    for r in (docker(daemon, "run", "--rm", "busybox", "/nonexistent"),
              daemon.cove("run", "--rm", "busybox", "/nonexistent")):  # fmt: skip
        assert r.returncode == 127, r.stderr
        assert 'exec: "/nonexistent": stat /nonexistent: no such file or directory' in r.stderr


def test_network_of_a_missing_container_fails_at_start_not_as_a_missing_image(
    daemon: Daemon,
) -> None:
    name = unique("nc")
    try:
        r = docker(
            daemon, "run", "--name", name, "--network", "container:missing", "busybox", "true"
        )
        assert r.returncode == 125
        assert "Unable to find image" not in r.stderr
        assert "Error response from daemon: No such container: missing" in r.stderr
        st = daemon.cove("inspect", "-f", "{{.State.Status}}|{{.State.Error}}", name).stdout
        assert st.strip() == "created|No such container: missing"
    finally:
        daemon.cove("rm", "-f", name)


def test_links_recorded_with_both_names(daemon: Daemon) -> None:
    db, app = unique("db"), unique("app")
    daemon.cove("run", "-d", "--name", db, "busybox", "sleep", "60", check=True)
    try:
        docker(daemon, "create", "--name", app, "--link", f"{db}:cache", "busybox", "true")
        links = json.loads(daemon.cove("inspect", "-f", "{{json .HostConfig.Links}}", app).stdout)
        assert links == [f"/{db}:/{app}/cache"]
    finally:
        daemon.cove("rm", "-f", app, db)


def test_resolv_conf_order_and_predefined_network_names(daemon: Daemon) -> None:
    r = daemon.cove("run", "--rm", "--network", "none", "--dns", "192.0.2.53", "--dns-search",
                    "corp.example", "--dns-option", "ndots:2", "busybox",
                    "cat", "/etc/resolv.conf", check=True)  # fmt: skip
    assert r.stdout == "search corp.example\nnameserver 192.0.2.53\noptions ndots:2\n"
    for exe in (docker, Daemon.cove):
        r = exe(daemon, "network", "create", "host")
        assert r.returncode == 1
        assert "operation is not permitted on predefined host network" in r.stderr, r.stderr


def test_busybox_runs_sh_by_default_like_docker_hubs(daemon: Daemon) -> None:
    cmd = daemon.cove("image", "inspect", "-f", "{{json .Config.Cmd}}", "busybox", check=True)
    assert cmd.stdout.strip() == '["sh"]'
    r = subprocess.run([DOCKER or "docker", "run", "--rm", "-i", "busybox"], input="id -un\n",
                       capture_output=True, text=True, env=daemon.env, timeout=60)  # fmt: skip
    assert r.stdout == "root\n", r.stderr
    r = daemon.cove("run", "--rm", "-u", "nobody", "busybox", "sh", "-c", "id -un; id -gn")
    assert r.stdout == "nobody\nnogroup\n", r.stderr


def test_build_from_a_base_without_env_has_the_default_path(daemon: Daemon) -> None:
    tag = unique("parity-path:")
    with tempfile.TemporaryDirectory() as ctx:
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write("FROM busybox\nRUN echo $PATH > /path.txt\n")
        env = {**daemon.env, "DOCKER_BUILDKIT": "0"}
        r = subprocess.run([DOCKER or "docker", "build", "-q", "-t", tag, ctx],
                           capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
        assert r.returncode == 0, r.stderr
    try:
        want = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        got = daemon.cove("image", "inspect", "-f", "{{json .Config.Env}}", tag).stdout
        assert json.loads(got) == [f"PATH={want}"]
        assert daemon.cove("run", "--rm", tag, "cat", "/path.txt").stdout == want + "\n"
    finally:
        daemon.cove("rmi", tag)
