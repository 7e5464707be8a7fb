"""The real docker Python SDK against the server (with the fake engine behind it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

docker = pytest.importorskip("docker")

from .conftest import ServerThread  # noqa: E402


@pytest.fixture
def client(api: ServerThread) -> Iterator[object]:
    c = docker.DockerClient(base_url=f"unix://{api.path}", version="auto", timeout=20)
    try:
        yield c
    finally:
        c.close()


def test_ping_and_version(client: object) -> None:
    assert client.ping() is True  # type: ignore[attr-defined]
    assert client.api.api_version == "1.44"  # type: ignore[attr-defined]
    version = client.version()  # type: ignore[attr-defined]
    assert version["Version"] == "27.0.0-cove"
    assert client.info()["OSType"] == "linux"  # type: ignore[attr-defined]


def test_create_start_logs_wait(client: object) -> None:
    container = client.containers.create("busybox", ["both"], name="sdk")  # type: ignore[attr-defined]
    assert container.name == "sdk"
    container.start()
    assert container.wait() == {"StatusCode": 0, "Error": None}
    assert container.logs() == b"out\nerr\n"
    assert container.logs(stderr=False) == b"out\n"
    assert list(container.logs(stream=True, follow=True)) == [b"out\n", b"err\n"]
    ids = [c.id for c in client.containers.list(all=True)]  # type: ignore[attr-defined]
    assert container.id in ids
    assert client.containers.list() == []  # type: ignore[attr-defined]
    container.remove()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("sdk")  # type: ignore[attr-defined]


def test_run_failure_reports_exit_status(client: object) -> None:
    with pytest.raises(docker.errors.ContainerError) as info:
        client.containers.run("busybox", ["fail"])  # type: ignore[attr-defined]
    assert info.value.exit_status == 3
    assert b"oops" in info.value.stderr


def test_image_errors_are_recognised(client: object) -> None:
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("nope")  # type: ignore[attr-defined]
    image = client.images.get("localhost:5000/app:1")  # type: ignore[attr-defined]
    assert image.tags == ["localhost:5000/app:1"]


def test_exec_run_with_and_without_tty(client: object) -> None:
    container = client.containers.run("busybox", ["sleep"], detach=True)  # type: ignore[attr-defined]
    for _ in range(25):  # output races the 101 head unless the server waits for the client
        result = container.exec_run(["echo", "hi"])
        assert (result.exit_code, result.output) == (0, b"hi\n")
    result = container.exec_run(["echo", "hi"], tty=True)
    assert (result.exit_code, result.output) == (0, b"hi\r\n")
    result = container.exec_run(["both"], demux=True)
    assert result.output == (b"out\n", b"err\n")
    container.kill()
    assert container.wait()["StatusCode"] == 137


def test_attach_socket_with_stdin(client: object, api: ServerThread) -> None:
    container = client.containers.create("busybox", ["cat"], stdin_open=True)  # type: ignore[attr-defined]
    sock = client.api.attach_socket(  # type: ignore[attr-defined]
        container.id, params={"stdin": 1, "stdout": 1, "stream": 1}
    )
    container.start()
    raw = sock._sock
    raw.sendall(b"ping\n")
    raw.shutdown(1)
    data = b""
    while chunk := raw.recv(4096):
        data += chunk
    assert data == b"\x01\x00\x00\x00\x00\x00\x00\x05ping\n"
    sock.close()
    assert container.wait()["StatusCode"] == 0
