"""A client that leaves in the middle of a pull or a push stops the transfer's threads, and
the next pull of the same image works (issue 14, item 3).  The registry is Debian's
docker-registry on loopback."""

from __future__ import annotations

import io
import os
import socket
import tarfile
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import Daemon, running_daemon
from tests.integration.registry.conftest import Registry, distribution_registry
from tests.integration.test_robust_transfers import _call, _wait_no_xfer

SIZE = 24 << 20
AUTH = "e30="  # base64 of {}: anonymous


@pytest.fixture(scope="module")
def setup() -> Iterator[tuple[Daemon, Registry, str]]:
    if os.geteuid() != 0:
        pytest.skip("integration tests need root")
    with distribution_registry() as reg, running_daemon(busybox=False) as d:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            info = tarfile.TarInfo("blob")
            info.size = SIZE
            t.addfile(info, io.BytesIO(os.urandom(SIZE)))
        name = f"{reg.addr}/robust/big"
        status, body = _call(
            d, "POST", f"/images/create?fromSrc=-&repo={name}&tag=1", buf.getvalue()
        )
        assert status == 200, body
        yield d, reg, name


def _leave_early(d: Daemon, method: str, path: str) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(d.socket)
    s.sendall(
        f"{method} /v1.44{path} HTTP/1.1\r\nHost: cove\r\nX-Registry-Auth: {AUTH}\r\n"
        "Content-Length: 0\r\n\r\n".encode()
    )
    assert s.recv(65536).startswith(b"HTTP/1.1 200")
    s.close()  # the transfer has only started


def test_leaving_mid_push_and_mid_pull(setup: tuple[Daemon, Registry, str]) -> None:
    d, _reg, name = setup
    _leave_early(d, "POST", f"/images/{name}/push?tag=1")
    assert _wait_no_xfer(d) == 0
    assert d.ping()
    # a whole push, then the image goes away locally
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(120)
    s.connect(d.socket)
    s.sendall(
        f"POST /v1.44/images/{name}/push?tag=1 HTTP/1.1\r\nHost: cove\r\n"
        f"X-Registry-Auth: {AUTH}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
    )
    reply = b""
    while chunk := s.recv(65536):
        reply += chunk
    s.close()
    assert b"digest: sha256:" in reply and b"errorDetail" not in reply, reply[-500:]
    assert _call(d, "DELETE", f"/images/{name}:1?force=1")[0] == 200

    _leave_early(d, "POST", f"/images/create?fromImage={name}&tag=1")
    assert _wait_no_xfer(d) == 0
    assert d.ping()
    status, body = _call(d, "POST", f"/images/create?fromImage={name}&tag=1")
    assert status == 200 and b"errorDetail" not in body, body[-500:]
    assert _call(d, "GET", f"/images/{name}:1/json")[0] == 200
