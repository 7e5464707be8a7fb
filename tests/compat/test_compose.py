"""docker compose v2 (the CLI plugin, `make compose-plugin`) against the suite's coved: a
short smoke test (issue 15).  A web service built from a Dockerfile FROM busybox with a
health check, a client that waits for it to be healthy, a named volume; up, ps, down."""

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


FULL_COMPOSE = """services:
  web:
    build: .
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/index.html"]
      interval: 1s
      retries: 30
    ports:
      - "127.0.0.1::8080"
    networks: [front, back]
    volumes:
      - data:/data
      - ./site:/site:ro
    env_file: app.env
  client:
    image: busybox
    command: ["sh", "-c", "wget -qO- http://web:8080/index.html; echo $$GREETING; exec sleep 300"]
    env_file: app.env
    networks: [back]
    depends_on:
      web:
        condition: service_healthy
    deploy:
      replicas: 2
  flaky:
    image: busybox
    command: ["sh", "-c", "exit 3"]
    restart: on-failure:2
    profiles: [extra]
networks:
  front:
  back:
volumes:
  data:
"""


@pytest.mark.slow
def test_compose_project_lifecycle(daemon: Daemon, project: tuple[str, str]) -> None:
    """What a compose user does with a project (the same commands gave the same answers and
    the same `events --json` from dockerd 20.10, bar the order of parallel steps)."""
    name, cwd = project
    os.makedirs(os.path.join(cwd, "site"))
    with open(os.path.join(cwd, "site", "file.txt"), "w") as f:
        f.write("bind-content\n")
    with open(os.path.join(cwd, "app.env"), "w") as f:
        f.write("GREETING=hi-from-env-file\n")
    with open(os.path.join(cwd, "compose.yaml"), "w") as f:
        f.write(FULL_COMPOSE)

    def ok(*args: str) -> str:
        r = compose(daemon, name, cwd, *args)
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout

    ok("config", "-q")
    ok("up", "-d", "--build")
    states = ok("ps", "--format", "{{.Service}} {{.State}} {{.Health}}").split("\n")
    assert sorted(s.strip() for s in states if s.strip()) == [
        "client running", "client running", "web running healthy"
    ]  # fmt: skip
    logs = ok("logs", "--no-log-prefix", "client")
    assert logs.count("hello from web") == 2 and logs.count("hi-from-env-file") == 2
    assert ok("exec", "-T", "web", "cat", "/site/file.txt") == "bind-content\n"
    assert ok("exec", "-T", "web", "sh", "-c", "echo $GREETING") == "hi-from-env-file\n"
    assert ok("run", "--rm", "-T", "client", "echo", "run-rm-ok").endswith("run-rm-ok\n")
    assert "httpd -f -p 8080 -h /www" in ok("top", "web")
    assert ok("port", "web", "8080").startswith("127.0.0.1:")
    ok("up", "-d", "--scale", "client=3", "--no-recreate")
    assert len(ok("ps", "-q", "client").split()) == 3
    ok("restart", "-t", "1", "web")
    ok("stop", "-t", "1", "client")
    ok("start", "client")
    ok("pause", "web")
    assert ok("ps", "--format", "{{.State}}", "web").strip() == "paused"
    ok("unpause", "web")
    out = os.path.join(cwd, "out.html")
    ok("cp", "web:/www/index.html", out)
    with open(out) as f:
        assert f.read() == "hello from web\n"
    ok("--profile", "extra", "up", "-d", "flaky")
    ok("kill", "client")
    ok("--profile", "extra", "down", "-v", "-t", "1")
    assert ok("--profile", "extra", "ps", "-a", "-q") == ""
