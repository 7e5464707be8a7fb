"""Docker parity where users notice (issue 15): the docker CLI and cove against the suite's
coved get what the docker CLI gets from dockerd (20.10, checked side by side)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
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


def _events(d: Daemon, since: str, *filters: str) -> list[str]:
    until = str(int(time.time()) + 1)
    r = docker(d, "events", "--since", since, "--until", until, *filters,
               "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.signal}}")  # fmt: skip
    return [" ".join(line.split()).replace(" <no value>", "") for line in r.stdout.splitlines()]


def test_events_of_stop_restart_rm_and_health_checks_as_dockerd(daemon: Daemon) -> None:
    """The sequence dockerd 20.10 sends for the same commands, kill events included; a
    container filter drops image events."""
    name, tag = unique("ev"), unique("parity-ev:")
    since = str(int(time.time()) - 1)
    try:
        daemon.cove("run", "-d", "--name", name, "busybox", "sleep", "300", check=True)
        daemon.cove("stop", "-t", "1", name, check=True)  # sleep ignores TERM as pid 1
        daemon.cove("start", name, check=True)
        daemon.cove("restart", "-t", "1", name, check=True)
        daemon.cove("tag", "busybox", tag, check=True)
        daemon.cove("rm", "-f", name, check=True)
        got = _events(daemon, since, "--filter", f"container={name}")
        stop = ["container kill 15", "container kill 9", "container die", "container stop"]
        assert got == [
            "container create", "container start", *stop, "container start",
            *stop, "container start", "container restart",
            "container kill 9", "container die", "container destroy",
        ]  # fmt: skip
        assert "image tag" in _events(daemon, since)
        since = str(int(time.time()) - 1)
        daemon.cove("run", "-d", "--name", name, "--health-cmd", "true", "--health-interval",
                    "1s", "busybox", "sleep", "300", check=True)  # fmt: skip
        for _ in range(100):
            status = daemon.cove("inspect", "-f", "{{.State.Health.Status}}", name).stdout
            if status.strip() == "healthy":
                break
            time.sleep(0.1)
        got = _events(daemon, since, "--filter", f"container={name}", "--filter",
                      "event=exec_create", "--filter", "event=exec_start",
                      "--filter", "event=exec_die", "--filter", "event=health_status")  # fmt: skip
        assert got[:4] == [
            "container exec_create: /bin/sh -c true", "container exec_start: /bin/sh -c true",
            "container exec_die", "container health_status: healthy",
        ], got  # fmt: skip
    finally:
        daemon.cove("rm", "-f", name)
        daemon.cove("rmi", tag)


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--network", "nosuchnet"], "network nosuchnet not found"),
        (["--link", "nosuch:db"], "could not get container for nosuch: No such container: nosuch"),
        (["--ipc", "container:nosuch"], "No such container: nosuch"),
    ],
)
def test_missing_things_other_than_the_image_are_not_a_404_on_create(
    daemon: Daemon, flags: list[str], words: str
) -> None:
    """The docker CLI pulls the image after any 404 from create; dockerd's words follow."""
    r = docker(daemon, "run", "--rm", *flags, "busybox", "true")
    assert r.returncode == 125 and "Unable to find image" not in r.stderr, r.stderr
    assert f"Error response from daemon: {words}\n" in r.stderr
