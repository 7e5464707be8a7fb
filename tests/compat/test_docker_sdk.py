"""The docker Python SDK against coved."""

from __future__ import annotations

import pytest

from tests.daemon_fixture import Daemon

docker = pytest.importorskip("docker")
pytestmark = pytest.mark.compat


@pytest.fixture
def client(daemon: Daemon):  # type: ignore[no-untyped-def]
    c = docker.DockerClient(base_url=daemon.host)
    yield c
    c.close()


def test_ping_version(client) -> None:  # type: ignore[no-untyped-def]
    assert client.ping() is True
    assert client.version()["ApiVersion"] == "1.44"


def test_run_and_logs(client) -> None:  # type: ignore[no-untyped-def]
    out = client.containers.run("busybox", ["echo", "sdk"], remove=True)
    assert out == b"sdk\n"
    with pytest.raises(docker.errors.ContainerError) as e:
        client.containers.run("busybox", ["sh", "-c", "exit 2"], remove=True)
    assert e.value.exit_status == 2
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("no-such-image-here")


def test_detached_exec_stop_remove(client) -> None:  # type: ignore[no-untyped-def]
    c = client.containers.run("busybox", ["sleep", "1000"], detach=True, name="sdkbox")
    try:
        c.reload()
        assert c.status == "running"
        assert any(x.id == c.id for x in client.containers.list())
        code, out = c.exec_run(["sh", "-c", "echo hi; exit 3"])
        assert (code, out) == (3, b"hi\n")
        code, out = c.exec_run("echo tty", tty=True)
        assert code == 0 and out.replace(b"\r", b"") == b"tty\n"
        code, out = c.exec_run("id -u", user="nobody")
        assert out.strip() == b"65534"
        c.stop(timeout=1)
        c.reload()
        assert c.status == "exited"
        assert c.wait()["StatusCode"] in (137, 143)
    finally:
        c.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("sdkbox")


def test_images(client) -> None:  # type: ignore[no-untyped-def]
    img = client.images.get("busybox")
    assert "busybox:latest" in img.tags
    img.tag("sdkimg", "v1")
    assert "sdkimg:v1" in client.images.get("sdkimg:v1").tags
    client.images.remove("sdkimg:v1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("sdkimg:v1")
