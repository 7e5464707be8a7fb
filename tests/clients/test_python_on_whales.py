"""python-on-whales (PyPI) against the engine: it drives the docker CLI on PATH and parses
its JSON (inspect, stats, compose ps/config) into pydantic models, so a field of the wrong
type or shape in coved's answers fails here."""

from __future__ import annotations

import datetime
import os
import tempfile
from collections.abc import Iterator

import pytest

from tests.clients.conftest import Engine
from tests.clients.projects import waiter, web_service, write_project

pytest.importorskip("python_on_whales")
from python_on_whales import Container, DockerClient, DockerException
from python_on_whales.exceptions import NoSuchContainer, NoSuchImage


@pytest.fixture
def docker(engine: Engine) -> DockerClient:
    return DockerClient(host=engine.host)


@pytest.fixture
def box(docker: DockerClient, uniq: str) -> Iterator[Container]:
    c = docker.run(
        "busybox",
        ["sh", "-c", "echo started; exec sleep 300"],
        detach=True,
        name=uniq,
        envs={"WHO": "whales"},
        labels={"suite": uniq},
    )
    try:
        yield c
    finally:
        docker.container.remove(c, force=True, volumes=True)


def test_run_foreground_and_errors(docker: DockerClient) -> None:
    assert docker.run("busybox", ["echo", "hi"], remove=True) == "hi"
    with pytest.raises(DockerException) as e:
        docker.run("busybox", ["sh", "-c", "exit 3"], remove=True)
    assert e.value.return_code == 3
    with pytest.raises(NoSuchImage):
        docker.image.inspect("no-such-image-here")
    with pytest.raises(NoSuchContainer):
        docker.container.inspect("no-such-container-here")


def test_ps_inspect_logs_exec(docker: DockerClient, box: Container, uniq: str) -> None:
    listed = docker.ps(filters=[("label", f"suite={uniq}")])
    assert [c.id for c in listed] == [box.id]
    assert box.name == uniq and box.state.running and (box.state.pid or 0) > 0
    assert box.config.image == "busybox" and "WHO=whales" in (box.config.env or [])
    policy = box.host_config.restart_policy
    assert policy is not None and policy.name in ("no", "")
    assert box.execute(["sh", "-c", "echo $WHO"]) == "whales"
    assert box.execute(["id", "-u"], user="nobody") == "65534"
    assert box.execute(["pwd"], workdir="/tmp") == "/tmp"
    assert "started" in box.logs()
    assert box.logs(tail=1, timestamps=True).split(" ", 1)[1] == "started\n"


def test_images(docker: DockerClient, uniq: str) -> None:
    img = docker.image.inspect("busybox")
    assert "busybox:latest" in img.repo_tags and img.config.cmd == ["sh"]
    docker.image.tag("busybox", f"{uniq}:v1")
    try:
        tagged = docker.image.list(f"{uniq}")
        assert [i.id for i in tagged] == [img.id]
        assert docker.image.exists(f"{uniq}:v1")
    finally:
        docker.image.remove(f"{uniq}:v1")
    assert not docker.image.exists(f"{uniq}:v1")


def test_build(docker: DockerClient, uniq: str) -> None:
    with tempfile.TemporaryDirectory() as ctx:
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write('FROM busybox\nRUN echo built > /b.txt\nCMD ["cat", "/b.txt"]\n')
        img = docker.legacy_build(ctx, tags=[f"{uniq}:1"])
    try:
        assert docker.run(img, remove=True) == "built"
    finally:
        docker.image.remove(f"{uniq}:1")


def test_networks(docker: DockerClient, uniq: str) -> None:
    net = docker.network.create(uniq, labels={"suite": uniq})
    try:
        assert net.driver == "bridge" and net.ipam.config
        server = docker.run(
            "busybox",
            ["sh", "-c", "echo pong > /i && exec httpd -f -p 80 -h /"],
            detach=True,
            networks=[net],
            network_aliases=["srv"],
        )
        try:
            out = docker.run(
                "busybox", ["wget", "-q", "-O", "-", "http://srv/i"], networks=[net], remove=True
            )
            assert out == "pong"
            # on a user network of its own first: a container started on the default bridge
            # keeps the host's resolv.conf when connected later (dockerd 20.10 alike)
            other_net = docker.network.create(uniq + "b")
            other = docker.run("busybox", ["sleep", "300"], detach=True, networks=[other_net])
            try:
                docker.network.connect(net, other, alias="late")
                assert other.execute(["wget", "-q", "-O", "-", "http://srv/i"]) == "pong"
                attached = docker.container.inspect(other).network_settings.networks or {}
                assert uniq in attached and "late" in (attached[uniq].aliases or [])
                docker.network.disconnect(net, other)
            finally:
                docker.container.remove(other, force=True)
                docker.network.remove(other_net)
        finally:
            docker.container.remove(server, force=True)
        assert [n.name for n in docker.network.list(filters=[("label", f"suite={uniq}")])] == [uniq]
    finally:
        docker.network.remove(net)
    assert not docker.network.exists(uniq)


def test_volumes(docker: DockerClient, uniq: str) -> None:
    vol = docker.volume.create(uniq, labels={"suite": uniq})
    try:
        assert vol.driver == "local" and vol.mountpoint
        docker.run("busybox", ["sh", "-c", "echo kept > /v/f"], volumes=[(vol, "/v")], remove=True)
        assert (
            docker.run("busybox", ["cat", "/v/f"], volumes=[(vol, "/v", "ro")], remove=True)
            == "kept"
        )
        assert [v.name for v in docker.volume.list(filters=[("label", f"suite={uniq}")])] == [uniq]
    finally:
        docker.volume.remove(vol)
    assert not docker.volume.exists(uniq)


def test_stats(docker: DockerClient, box: Container) -> None:
    stats = docker.container.stats(box)
    assert [s.container_id for s in stats] == [box.id]
    assert stats[0].container_name == box.name and stats[0].memory_used > 0


def test_copy(docker: DockerClient, box: Container) -> None:
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "in.txt")
        with open(src, "w") as f:
            f.write("whales-cp\n")
        docker.copy(src, (box, "/tmp/in.txt"))
        assert box.execute(["cat", "/tmp/in.txt"]) == "whales-cp"
        back = os.path.join(d, "back.txt")
        box.copy_from("/tmp/in.txt", back)
        with open(back) as f:
            assert f.read() == "whales-cp\n"


def test_compose(engine: Engine, uniq: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        services = {"web": web_service(volumes=["data:/data"]), "worker": waiter()}
        write_project(d, "hello-whales", services, volumes={"data": {}})
        dc = DockerClient(
            host=engine.host,
            compose_files=[os.path.join(d, "compose.yaml")],
            compose_project_name=uniq,
        )
        try:
            cfg = dc.compose.config()
            assert set(cfg.services or {}) == {"web", "worker"}
            dc.compose.up(detach=True, build=True, wait=True)
            running = {c.name: c for c in dc.compose.ps()}
            assert len(running) == 2 and all(c.state.running for c in running.values())
            web = next(
                c
                for c in running.values()
                if c.config.labels and c.config.labels.get("com.docker.compose.service") == "web"
            )
            assert web.state.health is not None and web.state.health.status == "healthy"
            assert "hello-whales" in dc.compose.logs("worker")
            page = dc.compose.execute("web", ["cat", "/www/index.html"], tty=False)
            assert page == "hello-whales"
            host_port = dc.compose.port("web", 8080)
            assert host_port[0] == "127.0.0.1" and host_port[1]
            dc.compose.restart("worker", timeout=1)
            dc.compose.stop("worker", timeout=1)
            dc.compose.start("worker")
        finally:
            dc.compose.down(volumes=True, timeout=1)
            if dc.image.exists(f"{uniq}-web"):
                dc.image.remove(f"{uniq}-web")
        assert dc.compose.ps(all=True) == []
        assert not dc.volume.exists(f"{uniq}_data")


def test_system_and_container_extras(docker: DockerClient, box: Container, uniq: str) -> None:
    """info/version/df parse into its models; diff, export, pause, restart, kill, wait,
    commit, save, events."""
    assert docker.system.info().server_version and docker.version().server is not None
    assert docker.system.disk_free().images is not None
    box.execute(["sh", "-c", "echo x > /made-here"])
    assert box.diff()["/made-here"] == "A"
    with tempfile.TemporaryDirectory() as d:
        docker.container.export(box, os.path.join(d, "rootfs.tar"))
        assert os.path.getsize(os.path.join(d, "rootfs.tar")) > 0
        box.pause()
        assert docker.container.inspect(box).state.paused
        box.unpause()
        box.restart(time=1)
        box.kill(signal="SIGKILL")
        assert docker.container.wait(box) == 137
        image = docker.container.commit(box, tag=f"{uniq}:snap")
        try:
            assert image.repo_tags == [f"{uniq}:snap"]
            docker.image.save(f"{uniq}:snap", output=os.path.join(d, "img.tar"))
            assert os.path.getsize(os.path.join(d, "img.tar")) > 0
        finally:
            docker.image.remove(f"{uniq}:snap")
    until = datetime.datetime.now()
    since = until - datetime.timedelta(minutes=5)
    actions = [
        e.action
        for e in docker.system.events(since=since, until=until, filters={"container": box.id})
    ]
    for a in ("create", "start", "pause", "unpause", "kill", "die", "restart", "commit"):
        assert a in actions, actions
