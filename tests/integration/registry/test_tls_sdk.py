"""TLS and insecure-registries, and the docker SDK against coved's registry routes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import Daemon, running_daemon
from tests.integration.registry.conftest import Registry, cove_registry


def _host_ip() -> str | None:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench"))
    from peers import host_ipv4

    return host_ipv4()


@pytest.fixture(scope="module")
def tls_reg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """cove's registry with a self-signed certificate on this host's own eth0 address (a
    non-loopback address, so not insecure by default; the traffic stays on this machine)."""
    ip = _host_ip()
    if ip is None or shutil.which("openssl") is None:
        pytest.skip("no host address or no openssl")
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={ip}", "-addext", f"subjectAltName=IP:{ip}",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )  # fmt: skip
    with cove_registry("--tls-cert", cert, "--tls-key", key, addr_host=ip) as r:
        yield r


def test_tls_registry_needs_insecure_registries(daemon: Daemon, tls_reg: Registry) -> None:
    name = f"{tls_reg.addr}/tls/bb:1"
    daemon.cove("tag", "busybox", name, check=True)
    r = daemon.cove("push", name)
    assert r.returncode == 1 and "certificate" in (r.stdout + r.stderr).lower()
    with running_daemon(config={"insecure-registries": [tls_reg.addr]}) as d:
        d.cove("tag", "busybox", name, check=True)
        out = d.cove("push", name, check=True).stdout
        assert "Pushed" in out
        d.cove("rmi", name, check=True)
        d.cove("pull", name, check=True)
    daemon.cove("rmi", name)


def test_docker_sdk_pull_push_login_search(daemon: Daemon) -> None:
    docker = pytest.importorskip("docker")
    with cove_registry("--auth", "basic", "--auth-user", "sdk:pw") as reg:
        client = docker.DockerClient(base_url=daemon.host, version="1.44")
        try:
            assert client.login("sdk", "pw", registry=reg.addr)["Status"] == "Login Succeeded"
            with pytest.raises(docker.errors.APIError):
                client.login("sdk", "nope", registry=reg.addr, reauth=True)
            img = client.images.get("busybox")
            img.tag(f"{reg.addr}/sdk/bb", "1")
            auth = {"username": "sdk", "password": "pw"}
            lines = list(
                client.images.push(f"{reg.addr}/sdk/bb", "1", auth_config=auth, stream=True,
                                   decode=True)
            )  # fmt: skip
            assert any("digest" in str(m.get("status", "")) for m in lines), lines
            client.images.remove(f"{reg.addr}/sdk/bb:1")
            pulled = client.images.pull(f"{reg.addr}/sdk/bb", tag="1", auth_config=auth)
            assert pulled.id == img.id
            with pytest.raises(docker.errors.APIError):  # the SDK's search sends no credentials
                client.images.search(f"{reg.addr}/sdk")
            client.images.remove(f"{reg.addr}/sdk/bb:1")
        finally:
            client.close()
