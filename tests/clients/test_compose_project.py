"""docker compose v2 (the CLI plugin from `make compose-plugin`) through a whole project's
life, with compose's default parallelism: what a compose user types, in order.  The short
smoke test that `make test` runs is tests/compat/test_compose.py.

The project is built from local images only: a web service built FROM busybox with a health
check (busybox httpd), a client that waits for it to be healthy, two networks, a named volume,
a bind mount, an env file, a port published on 127.0.0.1, replicas, a profile and
`restart: on-failure:2`."""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.clients.conftest import Engine
from tests.clients.projects import waiter, web_service, write_project

SERVICES = {
    "web": web_service(
        networks=["front", "back"],
        volumes=["data:/data", "./site:/site:ro"],
        env_file="app.env",
    ),
    "client": waiter(
        command=[
            "sh",
            "-c",
            "wget -qO- http://web:8080/index.html; echo $$GREETING; exec sleep 300",
        ],
        env_file=["app.env", "more.env"],
        networks=["back"],
        deploy={"replicas": 2},
    ),
    "flaky": {
        "image": "busybox",
        "command": ["sh", "-c", "echo flaky-run; exit 3"],
        "restart": "on-failure:2",
        "profiles": ["extra"],
    },
}


class Project:
    def __init__(self, engine: Engine, name: str, cwd: str) -> None:
        self.engine, self.name, self.cwd = engine, name, cwd

    def argv(self, *args: str) -> list[str]:
        return ["docker", "compose", "-p", self.name, *args]

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args),
            capture_output=True,
            text=True,
            env=self.engine.env,
            cwd=self.cwd,
            timeout=timeout,
        )

    def ok(self, *args: str) -> str:
        r = self.run(*args)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r.stdout

    def stream(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.argv(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self.engine.env,
            cwd=self.cwd,
        )


def read_until(
    p: subprocess.Popen[bytes], done: Callable[[list[str]], bool], limit: float = 60
) -> list[str]:
    """Lines of a following command (logs -f, events) until ``done`` says enough or the
    limit passes; the command is stopped either way, so nothing outlives the test.  Read
    from the descriptor itself: a buffered reader would hold lines that select() no longer
    reports."""
    assert p.stdout is not None
    fd, buf = p.stdout.fileno(), b""
    deadline = time.monotonic() + limit
    try:
        while not done(buf.decode(errors="replace").splitlines()) and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buf += chunk
    finally:
        p.terminate()
        p.wait(10)
    return buf.decode(errors="replace").splitlines()


def ps_json(out: str) -> list[dict[str, Any]]:
    """compose ps --format json: one object per line (v2.21+) or one array (older)."""
    out = out.strip()
    if out.startswith("["):
        rows: list[dict[str, Any]] = json.loads(out)
        return rows
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def states(p: Project, service: str) -> set[str]:
    return {r["State"] for r in ps_json(p.ok("ps", "-a", "--format", "json", service))}


@pytest.fixture
def project(engine: Engine, uniq: str) -> Iterator[Project]:
    with tempfile.TemporaryDirectory() as cwd:
        top: dict[str, Any] = {"networks": {"front": {}, "back": {}}, "volumes": {"data": {}}}
        write_project(cwd, "hello from web", SERVICES, **top)
        files = {
            "site/file.txt": "bind-content\n",
            "app.env": "GREETING=hi-from-env-file\n",
            "more.env": "EXTRA=second-env-file\n",
        }
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(cwd, rel)), exist_ok=True)
            with open(os.path.join(cwd, rel), "w") as f:
                f.write(text)
        p = Project(engine, uniq, cwd)
        try:
            yield p
        finally:
            p.run("--profile", "extra", "down", "-v", "--rmi", "local", "-t", "1")
            engine.docker("rmi", f"{uniq}-web")


def test_compose_project_lifecycle(project: Project) -> None:
    p, engine = project, project.engine
    assert set(p.ok("config", "--services").split()) == {"web", "client"}  # not the profile's
    cfg = json.loads(p.ok("config", "--format", "json"))
    assert cfg["services"]["client"]["deploy"]["replicas"] == 2
    assert cfg["services"]["client"]["environment"] == {
        "GREETING": "hi-from-env-file",
        "EXTRA": "second-env-file",
    }

    p.ok("up", "-d", "--build")
    rows = ps_json(p.ok("ps", "--format", "json"))
    assert sorted((r["Service"], r["State"], r["Health"]) for r in rows) == [
        ("client", "running", ""),
        ("client", "running", ""),
        ("web", "running", "healthy"),
    ]
    web_row = next(r for r in rows if r["Service"] == "web")
    published = [x for x in web_row["Publishers"] if x["PublishedPort"]]
    assert [(x["URL"], x["TargetPort"]) for x in published] == [("127.0.0.1", 8080)]

    # logs -f: what is there, then it stays to follow (stopped by us)
    follow = p.stream("logs", "-f", "--no-log-prefix", "client")
    lines = read_until(follow, lambda ls: sum("hi-from-env-file" in x for x in ls) >= 2)
    assert sum("hello from web" in x for x in lines) == 2, lines

    assert p.ok("exec", "-T", "web", "cat", "/site/file.txt") == "bind-content\n"
    assert p.ok("exec", "-T", "--index", "2", "client", "sh", "-c", "echo $EXTRA") == (
        "second-env-file\n"
    )
    assert p.ok("run", "--rm", "-T", "client", "echo", "run-rm-ok").endswith("run-rm-ok\n")
    assert "httpd -f -p 8080 -h /www" in p.ok("top", "web")
    host_port = p.ok("port", "web", "8080").strip()
    assert host_port == f"127.0.0.1:{published[0]['PublishedPort']}"
    images = ps_json(p.ok("images", "--format", "json"))
    assert all(i["LastTagTime"].startswith("20") for i in images), images  # built, imported
    assert {(i["ContainerName"].split("-")[1], i["Repository"]) for i in images} == {
        ("web", f"{p.name}-web"),
        ("client", "busybox"),
    }

    p.ok("scale", "client=3")
    assert len(p.ok("ps", "-q", "client").split()) == 3
    p.ok("scale", "client=2")
    assert len(p.ok("ps", "-q", "client").split()) == 2

    events = p.stream("events", "--json")
    time.sleep(1)  # the stream is open before the actions it should see
    p.ok("restart", "-t", "1", "web")
    seen = read_until(events, lambda ls: any('"restart"' in x for x in ls))
    # httpd as PID 1 ignores SIGTERM: both signals of the stop are kill events (dockerd's
    # same list); health probes add exec_* and health_status events, left out here
    actions = [
        (e["service"], e["action"])
        for e in map(json.loads, seen)
        if not e["action"].startswith(("exec_", "health_status"))
    ]
    assert actions == [("web", a) for a in ("kill", "kill", "die", "stop", "start", "restart")]

    p.ok("stop", "-t", "1", "client")
    assert states(p, "client") == {"exited"}
    p.ok("start", "client")
    p.ok("pause", "web")
    assert p.ok("ps", "--format", "{{.State}}", "web").strip() == "paused"
    p.ok("unpause", "web")
    assert p.ok("ps", "--format", "{{.State}}", "web").strip() == "running"

    out = os.path.join(p.cwd, "out.html")
    p.ok("cp", "web:/www/index.html", out)
    with open(out) as f:
        assert f.read() == "hello from web\n"
    p.ok("cp", os.path.join(p.cwd, "app.env"), "web:/tmp/app.env")
    assert p.ok("exec", "-T", "web", "cat", "/tmp/app.env") == "GREETING=hi-from-env-file\n"

    # restart: on-failure:2 runs the command three times, then leaves it exited
    p.ok("--profile", "extra", "up", "-d", "flaky")
    flaky = f"{p.name}-flaky-1"
    deadline = time.monotonic() + 60
    state = ""
    while time.monotonic() < deadline:
        state = engine.docker(
            "inspect", "-f", "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}", flaky
        ).stdout.strip()
        if state == "2 exited 3":
            break
        time.sleep(0.5)
    assert state == "2 exited 3"

    p.ok("kill", "client")
    assert states(p, "client") == {"exited"}
    p.ok("--profile", "extra", "down", "-v", "--rmi", "local", "-t", "1")
    assert p.ok("--profile", "extra", "ps", "-a", "-q") == ""
    # compose 5.6 keeps the image it built with the classic builder under --rmi local, from
    # dockerd 20.10 as from coved; busybox (named in the file) is kept in any case
    assert engine.docker("image", "inspect", "busybox").returncode == 0
    assert f"{p.name}_data" not in engine.docker("volume", "ls", "-q").stdout.split()
    nets = engine.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert f"{p.name}_front" not in nets and f"{p.name}_back" not in nets


def test_compose_shared_namespaces(engine: Engine, uniq: str) -> None:
    """`network_mode: service:web` and `pid: service:web`: the side car sees web's
    processes, host name, loopback and /etc/hosts, as from dockerd."""
    services = {
        "web": web_service(extra_hosts=["extra.example:10.9.9.9"]),
        "side": {
            "image": "busybox",
            "command": ["sleep", "300"],
            "network_mode": "service:web",
            "pid": "service:web",
            "depends_on": {"web": {"condition": "service_healthy"}},
        },
    }
    with tempfile.TemporaryDirectory() as cwd:
        write_project(cwd, "shared-ns", services)
        p = Project(engine, uniq, cwd)
        try:
            p.ok("up", "-d", "--build", "--wait")
            web_id = engine.docker("inspect", "-f", "{{.Id}}", f"{uniq}-web-1").stdout.strip()
            out = p.ok(
                "exec",
                "-T",
                "side",
                "sh",
                "-c",
                "hostname; grep extra.example /etc/hosts; wget -qO- 127.0.0.1:8080/index.html",
            )
            assert out.split("\n")[0] == web_id[:12]
            assert out.split("\n")[1].split() == ["10.9.9.9", "extra.example"]
            assert out.split("\n")[2] == "shared-ns"
            procs = p.ok("exec", "-T", "side", "ps", "-o", "pid,args")
            assert any(
                ln.split(None, 1) == ["1", "httpd -f -p 8080 -h /www"] for ln in procs.splitlines()
            )
        finally:
            p.run("down", "-t", "1", "--rmi", "local")
            engine.docker("rmi", f"{uniq}-web")
