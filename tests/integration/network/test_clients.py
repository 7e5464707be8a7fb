"""The same network work through docker-py and the real docker CLI against coved."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.daemon_fixture import Daemon
from tests.integration.network.conftest import free_port, free_subnet, unique, wait_http

pytestmark = pytest.mark.integration
docker = pytest.importorskip("docker")
HTTPD = ["httpd", "-f", "-p", "80", "-h", "/etc"]


def test_docker_py_networks_and_ports(daemon: Daemon) -> None:
    client = docker.DockerClient(base_url=daemon.host)
    name, web, port = unique("net"), unique("web"), free_port()
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=free_subnet())])
    net = client.networks.create(name, driver="bridge", ipam=ipam)
    try:
        c = client.containers.run("busybox", HTTPD, name=web, network=name, detach=True,
                                  ports={"80/tcp": port})  # fmt: skip
        c.reload()
        assert c.ports == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}
        want = c.attrs["Config"]["Hostname"]
        out = client.containers.run("busybox", ["wget", "-qO-", f"http://{web}/hostname"],
                                    network=name, remove=True)  # fmt: skip
        assert out.decode().strip() == want
        assert wait_http(f"http://127.0.0.1:{port}/hostname", want).strip() == want
        net.reload()
        assert [x["Name"] for x in net.attrs["Containers"].values()] == [web]
        assert name in [n.name for n in client.networks.list()]
        # a MAC asked for on connect is the endpoint's, before and after a start
        idle = client.containers.create("busybox", ["sleep", "60"], name=web + "-idle")
        client.api.disconnect_container_from_network(idle.id, "bridge")
        client.api.connect_container_to_network(idle.id, name, mac_address="02:42:ac:11:00:42")
        idle.reload()
        assert idle.attrs["NetworkSettings"]["Networks"][name]["MacAddress"] == "02:42:ac:11:00:42"
        idle.start()
        out = idle.exec_run(["cat", "/sys/class/net/eth0/address"]).output.decode().strip()
        assert out == "02:42:ac:11:00:42"
        # API 1.44: every network of EndpointsConfig is joined at create; each must exist
        both = {name: client.api.create_endpoint_config(), "bridge": None}
        two = client.containers.run("busybox", ["sleep", "60"], name=web + "-two", network=name,
                                    networking_config=both, detach=True)  # fmt: skip
        two.reload()
        assert sorted(two.attrs["NetworkSettings"]["Networks"]) == sorted([name, "bridge"])
        links = two.exec_run(["ip", "-o", "-4", "addr"]).output.decode()
        assert " eth0 " in links and " eth1 " in links
        bad = {name: client.api.create_endpoint_config(), "no-such-net": None}
        # a 400, not a 404: the docker CLI takes any 404 on create for a missing image
        with pytest.raises(docker.errors.APIError, match="network no-such-net not found") as e:
            client.containers.run("busybox", "true", network=name, networking_config=bad)
        assert e.value.status_code == 400
    finally:
        for ctr in client.containers.list(all=True, filters={"name": web}):
            ctr.remove(force=True)
        net.remove()
    client.close()


@pytest.mark.skipif(not shutil.which("docker"), reason="docker CLI not installed")
def test_docker_cli_networks_and_ports(daemon: Daemon) -> None:
    def docker_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], env=daemon.env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip

    name, web, port = unique("net"), unique("web"), free_port()
    assert docker_cli("network", "create", "--subnet", free_subnet(), name).returncode == 0
    try:
        r = docker_cli("run", "-d", "--name", web, "--network", name, "--network-alias", "www",
                       "-p", f"{port}:80", "busybox", *HTTPD)  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert docker_cli("port", web).stdout == f"80/tcp -> 0.0.0.0:{port}\n"
        r = docker_cli("run", "--rm", "--network", name, "busybox", "wget", "-qO-",
                       "http://www/hostname")  # fmt: skip
        assert r.returncode == 0 and r.stdout.strip(), r.stderr
        info = json.loads(docker_cli("network", "inspect", name).stdout)[0]
        assert [c["Name"] for c in info["Containers"].values()] == [web]
        ls = docker_cli("network", "ls", "--format", "{{.Name}}").stdout.split()
        assert {"bridge", "host", "none", name} <= set(ls)
        r = docker_cli("network", "rm", name)
        assert r.returncode != 0 and "has active endpoints" in r.stderr
    finally:
        docker_cli("rm", "-f", web)
        docker_cli("network", "rm", name)
