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


def test_attach_over_websocket(client, daemon: Daemon) -> None:  # type: ignore[no-untyped-def]
    """GET /containers/{id}/attach/ws with the websocket-client library (docker-py's own
    ws=True path only knows TCP hosts): raw output in binary frames, stdin from the
    client's frames, a close frame when the output ends."""
    import socket

    websocket = pytest.importorskip("websocket")
    api = client.api
    c = api.create_container("busybox", ["sh", "-c", "printf ready; read x; printf got-$x"],
                             stdin_open=True, tty=False)  # fmt: skip
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(daemon.socket)
    try:
        url = f"ws://localhost/v1.44/containers/{c['Id']}/attach/ws?stdin=1&stdout=1&stream=1"
        ws = websocket.create_connection(url, socket=sock, timeout=10)
        api.start(c)
        assert ws.recv() == b"ready"  # raw bytes, no stream header
        ws.send("abc\n")
        assert ws.recv() == b"got-abc"
        assert api.wait(c, timeout=10)["StatusCode"] == 0
        ws.close()
        # a plain GET on the endpoint is no handshake
        r = api._get(api._url("/containers/{0}/attach/ws", c["Id"]))
        assert r.status_code == 400 and "WebSocket handshake" in r.text
    finally:
        sock.close()
        api.remove_container(c, force=True)
