"""The real docker CLI against the server (with the fake engine behind it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator

import pytest

from .conftest import ServerThread

DOCKER = shutil.which("docker")
pytestmark = pytest.mark.skipif(DOCKER is None, reason="docker CLI not installed")

Run = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def docker(api: ServerThread) -> Iterator[Run]:
    config = tempfile.mkdtemp(prefix="cove-cli-")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": config,
        "DOCKER_CONFIG": config,
        "DOCKER_HOST": f"unix://{api.path}",
        "DOCKER_CLI_HINTS": "false",
    }

    def run(
        *args: str, stdin: bytes | None = None, api: str | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        assert DOCKER is not None
        extra = {"DOCKER_API_VERSION": api} if api else {}
        return subprocess.run(
            [DOCKER, *args], input=stdin, capture_output=True, env={**env, **extra}, timeout=60
        )

    try:
        yield run
    finally:
        shutil.rmtree(config, ignore_errors=True)


def test_version_negotiates_down(docker: Run) -> None:
    r = docker("version")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "1.44 (downgraded from" in out
    assert "27.0.0-cove" in out


def test_ps_and_ps_all(docker: Run) -> None:
    r = docker("ps")
    assert r.returncode == 0, r.stderr
    header = ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert r.stdout.decode().split() == header
    assert docker("run", "-d", "--name", "web", "busybox", "sleep").returncode == 0
    assert "web" in docker("ps", "-a").stdout.decode()
    assert docker("ps", "-q", "--filter", "status=running").stdout.strip() != b""


def test_run_rm_echo(docker: Run) -> None:
    r = docker("run", "--rm", "busybox", "echo", "hi")
    assert (r.returncode, r.stdout) == (0, b"hi\n"), r.stderr
    assert docker("ps", "-aq").stdout == b""  # --rm removed it


def test_run_exit_code_and_stderr(docker: Run) -> None:
    r = docker("run", "--rm", "busybox", "fail")
    assert (r.returncode, r.stdout, r.stderr) == (3, b"", b"oops\n")


def test_run_interactive_stdin_half_close(docker: Run) -> None:
    r = docker("run", "-i", "--rm", "busybox", "cat", stdin=b"hello\nworld\n")
    assert (r.returncode, r.stdout) == (0, b"hello\nworld\n"), r.stderr


def test_run_with_older_api_version(docker: Run) -> None:
    # Before 1.42 the content type says raw-stream, but the frames are still there.
    r = docker("run", "--rm", "busybox", "both", api="1.41")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"out\n", b"err\n")
    r = docker("version", "--format", "{{.Client.APIVersion}}", api="1.99")
    assert r.returncode == 1 and b"client version 1.99 is too new" in r.stderr


def test_run_tty_is_raw(docker: Run) -> None:
    r = docker("run", "-t", "--rm", "busybox", "echo", "tty")
    assert (r.returncode, r.stdout) == (0, b"tty\r\n"), r.stderr


def test_exec_logs_wait_rm(docker: Run) -> None:
    assert docker("run", "-d", "--name", "box", "busybox", "sleep").returncode == 0
    r = docker("exec", "box", "echo", "from-exec")
    assert (r.returncode, r.stdout) == (0, b"from-exec\n"), r.stderr
    assert docker("exec", "box", "fail").returncode == 3
    r = docker("exec", "-i", "box", "cat", stdin=b"data\n")
    assert r.stdout == b"data\n"
    assert docker("kill", "box").returncode == 0
    assert docker("wait", "box").stdout == b"137\n"
    assert docker("logs", "box").returncode == 0
    assert docker("rm", "box").returncode == 0
    r = docker("rm", "box")
    assert r.returncode == 1
    assert r.stderr == b"Error response from daemon: No such container: box\n"


def test_import_tag_rmi(docker: Run) -> None:
    r = docker("import", "-", "imported:v1", stdin=b"not really a tarball" * 1000)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"sha256:")
    assert docker("tag", "busybox", "localhost:5000/x:y").returncode == 0
    r = docker("image", "inspect", "-f", "{{.Id}}", "localhost:5000/x:y")
    assert r.stdout.startswith(b"sha256:abab")
    r = docker("rmi", "localhost:5000/x:y")
    assert b"Untagged: localhost:5000/x:y" in r.stdout
    r = docker("run", "--rm", "alpine", "true")
    assert r.returncode == 125 and b"pull access denied for docker.io/library/alpine" in r.stderr
