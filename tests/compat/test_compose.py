"""docker compose v2 (the CLI plugin, `make compose-plugin`) against the suite's coved: a
short smoke test (issue 15).  A web service built from a Dockerfile FROM busybox with a
health check, a client that waits for it to be healthy, a named volume; up, ps, down.  A
whole project's life (every compose verb, side by side with dockerd) is in `make test-all`:
tests/clients/test_compose_project.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import Daemon

pytestmark = pytest.mark.compat

DOCKER = shutil.which("docker")

DOCKERFILE = """FROM busybox
RUN mkdir -p /www && echo hello from web > /www/index.html
EXPOSE 8080
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""
COMPOSE = """services:
  web:
    build: .
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/index.html"]
      interval: 1s
      retries: 30
    volumes:
      - data:/data
  client:
    image: busybox
    command: ["sh", "-c", "wget -q -O - http://web:8080/index.html && exec sleep 300"]
    depends_on:
      web:
        condition: service_healthy
volumes:
  data:
"""


def compose(d: Daemon, project: str, cwd: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert DOCKER is not None
    env = {**d.env, "DOCKER_CLI_HINTS": "false"}
    return subprocess.run([DOCKER, "compose", "-p", project, *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=180)  # fmt: skip


@pytest.fixture
def project(daemon: Daemon) -> Iterator[tuple[str, str]]:
    if DOCKER is None:
        pytest.skip("no docker CLI installed")
    probe = subprocess.run([DOCKER, "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed (make compose-plugin)")
    name = "cvc" + uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as cwd:
        with open(os.path.join(cwd, "Dockerfile"), "w") as f:
            f.write(DOCKERFILE)
        with open(os.path.join(cwd, "compose.yaml"), "w") as f:
            f.write(COMPOSE)
        try:
            yield name, cwd
        finally:
            compose(daemon, name, cwd, "down", "-v", "--rmi", "local", "-t", "1")
            daemon.cove("rmi", f"{name}-web")


def test_compose_build_up_ps_down(daemon: Daemon, project: tuple[str, str]) -> None:
    name, cwd = project
    r = compose(daemon, name, cwd, "up", "-d", "--build")
    assert r.returncode == 0, r.stderr
    r = compose(daemon, name, cwd, "ps", "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    by_service = {row["Service"]: row for row in rows}
    assert set(by_service) == {"web", "client"}
    assert by_service["web"]["Health"] == "healthy" and by_service["client"]["State"] == "running"
    logs = compose(daemon, name, cwd, "logs", "--no-log-prefix", "client")
    assert "hello from web" in logs.stdout, logs.stderr
    vols = daemon.cove("volume", "ls", "-q").stdout.split()
    assert f"{name}_data" in vols
    r = compose(daemon, name, cwd, "down", "-v", "-t", "1")
    assert r.returncode == 0, r.stderr
    assert compose(daemon, name, cwd, "ps", "-a", "-q").stdout.strip() == ""
    assert f"{name}_data" not in daemon.cove("volume", "ls", "-q").stdout.split()
    assert f"{name}_default" not in daemon.cove("network", "ls", "--format", "{{.Name}}").stdout
