"""testcontainers-python (PyPI `testcontainers`) against the engine: what its users write in
their own test suites.  Ryuk (the reaper container) is off: its image would come from a
registry; each test removes what it made."""

from __future__ import annotations

import os
import pathlib
import tempfile
import urllib.request
from collections.abc import Iterator

import pytest

from tests.clients.conftest import Engine
from tests.clients.projects import waiter, web_service, write_project

pytest.importorskip("testcontainers")
from testcontainers.compose import DockerCompose
from testcontainers.core.container import DockerContainer
from testcontainers.core.image import DockerImage
from testcontainers.core.network import Network
from testcontainers.core.wait_strategies import (
    CompositeWaitStrategy,
    ContainerStatusWaitStrategy,
    ExecWaitStrategy,
    FileExistsWaitStrategy,
    HealthcheckWaitStrategy,
    HttpWaitStrategy,
    LogMessageWaitStrategy,
    PortWaitStrategy,
)

# a web server that says when it is up: the log line, the port and the page for the waits
WEB = (
    "sh -c 'mkdir -p /www && echo hello-tc > /www/index.html && echo server-ready "
    "&& exec httpd -f -p 8080 -h /www'"
)


@pytest.fixture(autouse=True)
def _env(client_env: Engine) -> Engine:
    return client_env


def web() -> DockerContainer:
    return DockerContainer("busybox").with_command(WEB).with_exposed_ports(8080)


def fetch(host: str, port: int, path: str = "/index.html") -> str:
    with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=10) as r:
        return str(r.read().decode())


def test_log_wait_and_exposed_port() -> None:
    c = web().waiting_for(LogMessageWaitStrategy("server-ready").with_startup_timeout(60))
    with c:
        port = int(c.get_exposed_port(8080))
        PortWaitStrategy(8080).with_startup_timeout(30).wait_until_ready(c)
        assert fetch(c.get_container_host_ip(), port) == "hello-tc\n"
        out, _ = c.get_logs()
        assert b"server-ready" in out
        assert c.status == "running"


def test_http_and_composite_waits() -> None:
    strategy = CompositeWaitStrategy(
        ContainerStatusWaitStrategy(),
        HttpWaitStrategy(8080, "/index.html").for_status_code(200),
        ExecWaitStrategy(["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/index.html"]),
    ).with_startup_timeout(60)
    with web().waiting_for(strategy) as c:
        assert fetch(c.get_container_host_ip(), int(c.get_exposed_port(8080))) == "hello-tc\n"


def test_healthcheck_wait() -> None:
    health = {
        "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/index.html"],
        "interval": 500_000_000,
        "retries": 60,
    }
    c = web().with_kwargs(healthcheck=health)
    with c.waiting_for(HealthcheckWaitStrategy().with_startup_timeout(60)):
        info = c.get_wrapped_container().attrs
        assert info["State"]["Health"]["Status"] == "healthy"


def test_fixed_port_exec_and_env(unused_port: int) -> None:
    c = web().with_bind_ports(8080, unused_port).with_env("GREETING", "tc-env")
    with c.waiting_for(HttpWaitStrategy(8080, "/index.html").with_startup_timeout(60)):
        assert int(c.get_exposed_port(8080)) == unused_port
        assert fetch("127.0.0.1", unused_port) == "hello-tc\n"
        r = c.exec(["sh", "-c", "echo $GREETING; exit 3"])
        assert (r.exit_code, r.output) == (3, b"tc-env\n")


def test_network_helper_and_aliases() -> None:
    with Network() as net:
        server = web().with_network(net).with_network_aliases("webby")
        with server.waiting_for(LogMessageWaitStrategy("server-ready")):
            probe = (
                DockerContainer("busybox")
                .with_network(net)
                .with_command("wget -q -O - http://webby:8080/index.html")
            )
            with probe:
                assert probe.wait() == 0
                assert probe.get_logs()[0] == b"hello-tc\n"


def test_volume_mapping_and_file_wait() -> None:
    with tempfile.TemporaryDirectory() as host_dir:
        with open(os.path.join(host_dir, "in.txt"), "w") as f:
            f.write("from-host\n")
        done = pathlib.Path(host_dir, "out", "done.txt")
        c = (
            DockerContainer("busybox")
            .with_volume_mapping(host_dir, "/data", mode="rw")
            .with_command(
                "sh -c 'mkdir -p /data/out && cp /data/in.txt /data/out/done.txt && exec sleep 300'"
            )
            .waiting_for(FileExistsWaitStrategy(done).with_startup_timeout(60))
        )
        with c:
            assert done.read_text() == "from-host\n"
        # the container wrote as root into a directory of ours: tidy before it goes
        os.unlink(done)
        os.rmdir(done.parent)


def test_copy_in_and_out() -> None:
    c = DockerContainer("busybox").with_command("sleep 300")
    c.with_copy_into_container(b"given at start\n", "/etc/tc-start.txt")
    with c.waiting_for(ContainerStatusWaitStrategy()):
        c.copy_into_container(b"copied in\n", "/tmp/tc-in.txt", mode=0o600)
        r = c.exec(["sh", "-c", "cat /etc/tc-start.txt /tmp/tc-in.txt; stat -c %a /tmp/tc-in.txt"])
        assert r.output == b"given at start\ncopied in\n600\n"
        with tempfile.TemporaryDirectory() as d:
            out = pathlib.Path(d, "out.txt")
            c.copy_from_container("/tmp/tc-in.txt", out)
            assert out.read_text() == "copied in\n"


def test_docker_image_build(uniq: str) -> None:
    with tempfile.TemporaryDirectory() as ctx:
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write(
                "FROM busybox\nARG WHO=nobody\nRUN echo built-by-$WHO > /built.txt\n"
                'CMD ["cat", "/built.txt"]\n'
            )
        with DockerImage(path=ctx, tag=f"{uniq}:1", buildargs={"WHO": "tc"}) as image:
            assert str(image) == f"{uniq}:1"
            with DockerContainer(str(image)) as c:
                assert c.wait() == 0
                assert c.get_logs()[0] == b"built-by-tc\n"
        client = image.get_docker_client().client
        assert not any(f"{uniq}:1" in i.tags for i in client.images.list())


@pytest.fixture
def compose_dir(uniq: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix=uniq) as d:
        write_project(d, "hello-compose", {"web": web_service(), "probe": waiter()})
        yield d


def test_docker_compose_module(compose_dir: str, engine: Engine) -> None:
    project = os.path.basename(compose_dir).lower()
    try:
        with DockerCompose(compose_dir, build=True, wait=True) as compose:
            host, port = compose.get_service_host_and_port("web", 8080)
            assert fetch(str(host), int(str(port))) == "hello-compose\n"
            web_c = compose.get_container("web")
            assert web_c.State == "running" and web_c.Health == "healthy"
            out, _err, code = compose.exec_in_container(["cat", "/www/index.html"], "web")
            assert (out, code) == ("hello-compose\n", 0)
            logs, _ = compose.get_logs("probe")
            assert "hello-compose" in logs
            assert {c.Service for c in compose.get_containers()} == {"web", "probe"}
        assert (
            engine.docker(
                "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}"
            ).stdout.strip()
            == ""
        )
    finally:
        engine.docker("rmi", f"{project}-web")
