"""macvlan on a veth parent, and a daemon killed with -9 rebuilding its rules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from cove.network.names import table_name
from tests.daemon_fixture import Daemon, running_daemon
from tests.integration.network.conftest import (
    free_port,
    free_subnet,
    http_get,
    sh,
    unique,
    wait_http,
)

pytestmark = pytest.mark.integration
HTTPD = ("busybox", "httpd", "-f", "-p", "80", "-h", "/etc")


@pytest.fixture
def veth_parent() -> Iterator[tuple[str, str, str]]:
    """(parent link, namespace of its peer, the peer's address): a macvlan parent without
    the dummy module, its peer standing for the LAN."""
    tag = os.urandom(3).hex()
    parent, ns = f"cvp{tag}", f"covelan{tag}"
    sub = free_subnet()
    peer_ip = sub.replace(".0/24", ".1")
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", parent, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", parent, "up")
        sh("ip", "-n", ns, "addr", "add", f"{peer_ip}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        yield parent, ns, sub
    finally:
        sh("ip", "link", "del", parent, check=False)
        sh("ip", "netns", "del", ns, check=False)


def test_macvlan_on_a_veth_parent(daemon: Daemon, veth_parent: tuple[str, str, str]) -> None:
    parent, ns, sub = veth_parent
    peer_ip = sub.replace(".0/24", ".1")
    name, c = unique("mac"), unique("x")
    daemon.cove("network", "create", "-d", "macvlan", "--subnet", sub, "--gateway", peer_ip,
                "-o", f"parent={parent}", name, check=True)  # fmt: skip
    srv = subprocess.Popen(["ip", "netns", "exec", ns, "busybox", "httpd", "-f", "-p", "80",
                            "-h", "/etc"])  # fmt: skip
    try:
        script = f"ip -o -4 addr; timeout 5 wget -qO- http://{peer_ip}/hostname; exit $?"
        r = daemon.cove("run", "--rm", "--network", name, "busybox", "sh", "-c", script)
        assert r.returncode == 0, r.stderr
        assert sub.rsplit(".", 1)[0] + ".2/24" in r.stdout
        daemon.cove("run", "-d", "--network", name, "--name", c, *HTTPD, check=True)
        ip = json.loads(daemon.cove("inspect", c).stdout)[0]["NetworkSettings"]["Networks"][name][
            "IPAddress"
        ]
        r = sh("ip", "netns", "exec", ns, "busybox", "wget", "-qO-", f"http://{ip}/hostname",
               check=False)  # fmt: skip
        assert r.returncode == 0 and r.stdout.strip(), r.stderr
    finally:
        srv.kill()
        srv.wait()
        daemon.cove("rm", "-f", c)
        daemon.cove("network", "rm", name)
    links = sh("ip", "-o", "link").stdout
    assert f"@{parent}" not in links


def _kernel_has_8021q(parent: str) -> bool:
    probe = f"{parent}.4094"
    r = sh("ip", "link", "add", "link", parent, "name", probe, "type", "vlan", "id", "4094",
           check=False)  # fmt: skip
    sh("ip", "link", "del", probe, check=False)
    return r.returncode == 0


def test_macvlan_on_an_8021q_parent(daemon: Daemon, veth_parent: tuple[str, str, str]) -> None:
    """``-o parent=eth1.10``: the VLAN link is made with the network and removed with it; a
    kernel without 802.1q support gets a clear error and nothing is left behind."""
    parent, _ns, sub = veth_parent
    vlan, name, c = f"{parent}.10", unique("vlan"), unique("x")
    args = ("network", "create", "-d", "macvlan", "--subnet", sub, "-o", f"parent={vlan}", name)
    if not _kernel_has_8021q(parent):
        r = daemon.cove(*args)
        assert r.returncode == 1
        assert f"failed to create the 802.1q parent {vlan}" in r.stderr
        assert "Traceback" not in r.stderr
        assert daemon.cove("network", "inspect", name).returncode == 1
        assert f"{vlan}@" not in sh("ip", "-o", "link").stdout
        pytest.skip("this kernel has no 802.1q (8021q) support: only the error path was checked")
    daemon.cove(*args, check=True)
    try:
        assert f"{vlan}@{parent}" in sh("ip", "-o", "link").stdout
        daemon.cove("run", "-d", "--network", name, "--name", c, "busybox", "sleep", "60",
                    check=True)  # fmt: skip
        out = daemon.cove("exec", c, "ip", "-o", "-4", "addr").stdout
        assert sub.rsplit(".", 1)[0] + ".2/24" in out
    finally:
        daemon.cove("rm", "-f", c)
        daemon.cove("network", "rm", name)
    assert f"{vlan}@" not in sh("ip", "-o", "link").stdout


@pytest.mark.slow
def test_kill9_restart_rebuilds_rules() -> None:
    with running_daemon() as d:
        web, gone, port, port2 = unique("web"), unique("gone"), free_port(), free_port()
        d.cove("run", "-d", "--name", web, "-p", f"{port}:80", *HTTPD, check=True)
        d.cove("run", "-d", "--name", gone, "-p", f"{port2}:80", *HTTPD, check=True)
        want = json.loads(d.cove("inspect", web).stdout)[0]["Config"]["Hostname"]
        assert wait_http(f"http://127.0.0.1:{port}/hostname", want).strip() == want
        net, api, cli = unique("net"), unique("api"), unique("cli")
        d.cove("network", "create", "--subnet", free_subnet(), net, check=True)
        d.cove("run", "-d", "--network", net, "--name", api, *HTTPD, check=True)
        d.cove("run", "-d", "--network", net, "--name", cli, "busybox", "sleep", "600",
               check=True)  # fmt: skip
        gone_pid = json.loads(d.cove("inspect", gone).stdout)[0]["State"]["Pid"]
        d.stop(signal.SIGKILL)
        table = table_name(d.exec_root)
        # while the daemon is away: one container dies, and the rules are lost
        os.kill(gone_pid, signal.SIGKILL)
        sh("nft", "flush", "table", "ip", table)
        time.sleep(0.3)
        assert "<curl failed" in http_get(f"http://127.0.0.1:{port}/hostname", 1)
        d.start()
        assert wait_http(f"http://127.0.0.1:{port}/hostname", want).strip() == want
        rules = sh("nft", "list", "table", "ip", table).stdout
        assert f"dport {port} " in rules and f"dport {port2} " not in rules
        # the embedded DNS of a container that ran through the restart answers again
        r = d.cove("exec", cli, "nslookup", api, "127.0.0.11")
        api_ip = json.loads(d.cove("inspect", api).stdout)[0]["NetworkSettings"]["Networks"][net]
        assert api_ip["IPAddress"] in r.stdout, r.stdout + r.stderr
        # the restored daemon still holds the port: a second container cannot take it
        r = d.cove("run", "-d", "-p", f"{port}:80", "busybox", "true")
        assert "port is already allocated" in r.stderr
        d.cove("rm", "-f", web, gone, api, cli)
        d.cove("network", "rm", net, check=True)
        assert f"dport {port} " not in sh("nft", "list", "table", "ip", table).stdout
