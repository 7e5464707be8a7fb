"""Classic build API details clients rely on: ``cachefrom`` limits the cache to the named
images, a RUN's stderr comes back in red, and ``extrahosts`` (``--add-host``) reaches the
/etc/hosts of RUN containers.  Checked with the cove CLI, docker's CLI and docker-py."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.daemon_fixture import Daemon
from tests.integration.build.conftest import build, inspect, run

Ctx = Callable[[dict[str, Any]], str]
CACHED = "FROM busybox\nENV CF=1\nRUN echo one > /one\nRUN echo two > /two\n"


def _docker(bd: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**bd.env, "DOCKER_BUILDKIT": "0"}
    return subprocess.run(["docker", *args], capture_output=True, text=True, env=env,
                          timeout=180)  # fmt: skip


def test_cache_from_takes_hits_only_from_the_named_images(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": CACHED})
    assert build(bd, d, "-t", "b-cf-src").returncode == 0
    r = build(bd, d, "-t", "b-cf-2", "--cache-from", "b-cf-src")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(" ---> Using cache") == 3
    assert inspect(bd, "b-cf-2")["Id"] == inspect(bd, "b-cf-src")["Id"]
    # a missing source leaves no source at all: no cache
    r = build(bd, d, "--cache-from", "b-cf-nosuch")
    assert r.returncode == 0 and "Using cache" not in r.stdout
    # the base image as the source: the steps' images are its children, not its ancestors
    r = build(bd, d, "--cache-from", "busybox")
    assert r.returncode == 0 and "Using cache" not in r.stdout
    # without --cache-from every local hit counts, as before
    r = build(bd, d)
    assert r.stdout.count(" ---> Using cache") == 3


@pytest.mark.skipif(not shutil.which("docker"), reason="docker CLI not installed")
def test_cache_from_with_the_docker_cli(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": CACHED.replace("CF=1", "CF=docker")})
    assert _docker(bd, "build", "-t", "b-cf-d1", d).returncode == 0
    r = _docker(bd, "build", "--cache-from", "b-cf-d1", "-t", "b-cf-d2", d)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(" ---> Using cache") == 3
    r = _docker(bd, "build", "--cache-from", "b-cf-dnone", d)
    assert r.returncode == 0 and "Using cache" not in r.stdout


def test_cache_from_a_loaded_image_matches_by_history(bd: Daemon, ctx: Ctx) -> None:
    """A source without its build's parent chain (saved and loaded, as a pulled one)."""
    d = ctx({"Dockerfile": CACHED.replace("CF=1", "CF=loaded")})
    assert build(bd, d, "-t", "b-cf-saved").returncode == 0
    want = inspect(bd, "b-cf-saved")["Id"]
    tar = os.path.join(d, "saved.tar")
    bd.cove("save", "-o", tar, "b-cf-saved", check=True)
    bd.cove("rmi", "b-cf-saved", check=True)
    bd.cove("load", "-i", tar, check=True)
    os.unlink(tar)
    r = build(bd, d, "-t", "b-cf-again", "--cache-from", "b-cf-saved")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(" ---> Using cache") == 3
    assert inspect(bd, "b-cf-again")["Id"] == want
    assert run(bd, "b-cf-again", "cat", "/one", "/two") == "one\ntwo\n"


def test_run_stderr_comes_back_red_and_stdout_plain(bd: Daemon) -> None:
    docker = pytest.importorskip("docker")
    script = b"FROM busybox\nRUN echo to-out; echo to-err >&2\n"
    client = docker.APIClient(base_url=bd.host)
    try:
        stream = client.build(fileobj=io.BytesIO(script), decode=True, nocache=True)
        lines = [m.get("stream") for m in stream]
    finally:
        client.close()
    assert "to-out\n" in lines
    assert "\x1b[91mto-err\n\x1b[0m" in lines


def test_add_host_reaches_run_containers(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({
        "Dockerfile": "FROM busybox\nRUN ping -c1 -W2 hello.world.test\n"
                      "RUN cp /etc/hosts /hosts-file\n",
    })  # fmt: skip
    r = build(bd, d, "-t", "b-addhost", "--add-host", "hello.world.test:127.0.0.1",
              "--add-host", "extrahost.local.test:127.0.0.1")  # fmt: skip
    assert r.returncode == 0, r.stderr
    hosts = run(bd, "b-addhost", "cat", "/hosts-file")
    assert "127.0.0.1\thello.world.test" in hosts
    assert "127.0.0.1\textrahost.local.test" in hosts
    # without the option the name does not resolve and the RUN fails
    r = build(bd, d, "--no-cache")
    assert r.returncode != 0 and "returned a non-zero code" in r.stderr


@pytest.mark.skipif(not shutil.which("docker"), reason="docker CLI not installed")
def test_add_host_with_the_docker_cli(bd: Daemon, ctx: Ctx) -> None:
    d = ctx({"Dockerfile": "FROM busybox\nRUN ping -c1 -W2 dockercli.test && cat /etc/hosts\n"})
    r = _docker(bd, "build", "--no-cache", "--add-host", "dockercli.test:127.0.0.1", d)
    assert r.returncode == 0, r.stderr
    assert "127.0.0.1\tdockercli.test" in r.stdout
