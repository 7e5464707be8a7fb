"""The default bridge: addresses, NAT, published ports from everywhere, port conflicts."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from tests.daemon_fixture import Daemon
from tests.integration.network.conftest import (
    OtherHost,
    free_port,
    host_ip,
    http_get,
    inspect,
    sh,
    unique,
    wait_http,
)

pytestmark = pytest.mark.integration

HTTPD = ("busybox", "httpd", "-f", "-p", "80", "-h", "/etc")


def test_none_mode_has_loopback_only(daemon: Daemon) -> None:
    r = daemon.cove("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link")
    assert r.returncode == 0, r.stderr
    assert [ln.split(":")[1].strip() for ln in r.stdout.splitlines()] == ["lo"]


def test_host_mode_sees_host_interfaces(daemon: Daemon) -> None:
    r = daemon.cove("run", "--rm", "--network", "host", "busybox", "ip", "-o", "link")
    assert r.returncode == 0, r.stderr
    host_links = sh("ip", "-o", "link").stdout
    assert "eth0" in r.stdout and "eth0" in host_links
    r = daemon.cove("run", "--rm", "--network", "host", "-p", "9:9", "busybox", "true")
    assert r.returncode == 0, r.stderr


def test_container_mode_shares_the_namespace(daemon: Daemon) -> None:
    web = unique("web")
    daemon.cove("run", "-d", "--name", web, *HTTPD, check=True)
    try:
        r = daemon.cove(
            "run", "--rm", "--network", f"container:{web}", "busybox",
            "wget", "-qO-", "http://127.0.0.1/hostname",
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == inspect(daemon, web)["Config"]["Hostname"]
        r = daemon.cove("run", "--rm", "--network", f"container:{web}", "-p", "80:80", "busybox")
        assert r.returncode == 125
        assert "conflicting options: port publishing and the container type network mode" in (
            r.stderr
        )
    finally:
        daemon.cove("rm", "-f", web)


def test_default_bridge_address_and_etc_files(daemon: Daemon) -> None:
    name = unique("c")
    daemon.cove("run", "-d", "--name", name, "busybox", "sleep", "60", check=True)
    try:
        info = inspect(daemon, name)
        ns = info["NetworkSettings"]
        ip = ns["Networks"]["bridge"]["IPAddress"]
        assert ip and ns["IPAddress"] == ip
        assert ns["Gateway"] == daemon.bip.split("/")[0]
        assert ns["MacAddress"].startswith("02:42:")
        hosts = daemon.cove("exec", name, "cat", "/etc/hosts").stdout
        assert f"{ip}\t{info['Config']['Hostname']}" in hosts
        route = daemon.cove("exec", name, "ip", "route").stdout
        assert f"default via {ns['Gateway']}" in route
    finally:
        daemon.cove("rm", "-f", name)
    stopped = daemon.cove("ps", "-aq", "--filter", f"name={name}").stdout.strip()
    assert stopped == ""


def test_published_port_from_everywhere(daemon: Daemon, other_host: OtherHost) -> None:
    web, port = unique("web"), free_port()
    daemon.cove("run", "-d", "--name", web, "-p", f"{port}:80", *HTTPD, check=True)
    try:
        want = inspect(daemon, web)["Config"]["Hostname"]
        gateway = daemon.bip.split("/")[0]
        assert wait_http(f"http://127.0.0.1:{port}/hostname", want).strip() == want
        assert http_get(f"http://{gateway}:{port}/hostname").strip() == want
        assert http_get(f"http://{host_ip()}:{port}/hostname").strip() == want
        r = other_host.run("curl", "-s", "-m", "5", f"http://{host_ip()}:{port}/hostname")
        assert r.stdout.strip() == want, r.stderr
        # hairpin: another container through the host's published port
        r = daemon.cove(
            "run", "--rm", "busybox", "sh", "-c",
            f"timeout 5 wget -qO- http://{gateway}:{port}/hostname; exit $?",
        )  # fmt: skip
        assert r.stdout.strip() == want, r.stderr
        r = daemon.cove("port", web)
        assert r.stdout == f"80/tcp -> 0.0.0.0:{port}\n"
        assert daemon.cove("port", web, "80").stdout == f"0.0.0.0:{port}\n"
        ps = daemon.cove("ps", "--filter", f"name={web}", "--format", "{{.Ports}}").stdout
        assert ps.strip() == f"0.0.0.0:{port}->80/tcp"
    finally:
        daemon.cove("rm", "-f", web)
    assert "<curl failed" in http_get(f"http://127.0.0.1:{port}/hostname", 1)


def test_publish_all_and_udp_on_loopback(daemon: Daemon) -> None:
    web, uport = unique("web"), free_port()
    daemon.cove(
        "run", "-d", "--name", web, "--expose", "80", "-P",
        "-p", f"127.0.0.1:{uport}:53/udp", *HTTPD,
    check=True)  # fmt: skip
    try:
        ports = inspect(daemon, web)["NetworkSettings"]["Ports"]
        assert ports["53/udp"] == [{"HostIp": "127.0.0.1", "HostPort": str(uport)}]
        hport = int(ports["80/tcp"][0]["HostPort"])
        assert hport > 0
        want = inspect(daemon, web)["Config"]["Hostname"]
        assert wait_http(f"http://127.0.0.1:{hport}/hostname", want).strip() == want
    finally:
        daemon.cove("rm", "-f", web)


def test_port_already_taken_fails_before_running(daemon: Daemon) -> None:
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    port = holder.getsockname()[1]
    name = unique("c")
    try:
        r = daemon.cove("run", "-d", "--name", name, "-p", f"{port}:80", "busybox",
                        "sh", "-c", "echo ran; sleep 60")  # fmt: skip
        assert r.returncode == 125, r.stdout
        assert f"Bind for 0.0.0.0:{port} failed: port is already allocated" in r.stderr
        info = inspect(daemon, name)
        assert not info["State"]["Running"] and info["State"]["Pid"] == 0
        assert daemon.cove("logs", name).stdout == ""
        assert info["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == ""
    finally:
        holder.close()
        daemon.cove("rm", "-f", name)


def test_two_containers_one_port(daemon: Daemon) -> None:
    a, b, port = unique("a"), unique("b"), free_port()
    daemon.cove("run", "-d", "--name", a, "-p", f"{port}:80", *HTTPD, check=True)
    try:
        r = daemon.cove("run", "-d", "--name", b, "-p", f"{port}:80", *HTTPD)
        assert r.returncode == 125
        assert "port is already allocated" in r.stderr
    finally:
        daemon.cove("rm", "-f", a, b)


def test_no_leftovers_after_remove(daemon: Daemon) -> None:
    name, port = unique("c"), free_port()
    daemon.cove("run", "-d", "--name", name, "-p", f"{port}:80", *HTTPD, check=True)
    cid = inspect(daemon, name)["Id"]
    from cove.network.names import table_name, veth_name

    net_id = inspect(daemon, name)["NetworkSettings"]["Networks"]["bridge"]["NetworkID"]
    veth = veth_name(cid, net_id)
    assert veth in sh("ip", "-o", "link").stdout
    table = table_name(daemon.exec_root)
    assert f"dport {port}" in sh("nft", "list", "table", "ip", table).stdout
    daemon.cove("rm", "-f", name, check=True)
    for _ in range(50):  # the kernel removes the veth with the namespace, asynchronously
        if veth not in sh("ip", "-o", "link").stdout:
            break
        time.sleep(0.1)
    assert veth not in sh("ip", "-o", "link").stdout
    assert f"dport {port}" not in sh("nft", "list", "table", "ip", table).stdout
    assert "docker" not in subprocess.run(["true"], capture_output=True, text=True).stdout
