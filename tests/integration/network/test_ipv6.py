"""Dual-stack bridges: ``network create --ipv6`` with an IPv4 and an IPv6 subnet, containers
reaching each other over IPv6 by address and by name (AAAA from the embedded DNS), ``--ip6``,
``network connect --ip6``, the inspect fields, dockerd's refusals, a kill -9 restart.

Every address used is a random ULA /64 on bridges the daemon makes; no packet leaves the
machine (IPv6 forwarding stays off on the host, as cove never switches it on).
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import time
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import Daemon, running_daemon
from tests.integration.network.conftest import free_subnet, inspect, sh, unique

pytestmark = pytest.mark.integration
HTTPD = ("busybox", "httpd", "-f", "-p", "80", "-h", "/etc")


def free_subnet6() -> str:
    """A random ULA /64 that no route of the host uses."""
    used = sh("ip", "-6", "route").stdout
    for _ in range(100):
        net = str(ipaddress.IPv6Network(f"fdc5:{os.urandom(4).hex(':', 2)}::/64"))
        if net.removesuffix(":/64") not in used:
            return net  # canonical, as inspect shows it
    raise AssertionError("no free IPv6 test subnet")


def _net(daemon: Daemon, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads(daemon.cove("network", "inspect", name, check=True).stdout)[0]  # type: ignore[no-any-return]


@pytest.fixture
def net6(daemon: Daemon) -> Iterator[tuple[str, str]]:
    """(name, IPv6 subnet) of a fresh dual-stack bridge; on teardown its bridge is gone."""
    name, sub6 = unique("v6net"), free_subnet6()
    daemon.cove("network", "create", "--ipv6", "--subnet", free_subnet(), "--subnet", sub6, name,
                check=True)  # fmt: skip
    bridge = "br-" + _net(daemon, name)["Id"][:12]
    yield name, sub6
    daemon.cove("network", "rm", name)
    assert sh("ip", "link", "show", bridge, check=False).returncode != 0


def _fetch(daemon: Daemon, ctr: str, url: str, want: str) -> str:
    """``wget`` from inside ``ctr`` until ``want`` comes back (httpd may still be starting)."""
    got = ""
    for _ in range(30):
        # not wget -T: this busybox's wget crashes with it
        r = daemon.cove("exec", ctr, "timeout", "3", "wget", "-qO-", url)
        got = r.stdout.strip() or f"<failed {r.returncode}: {r.stderr.strip()}>"
        if got == want:
            break
        time.sleep(0.1)
    return got


def _ep(daemon: Daemon, ctr: str, net: str) -> dict:  # type: ignore[type-arg]
    return inspect(daemon, ctr)["NetworkSettings"]["Networks"][net]  # type: ignore[no-any-return]


def test_dual_stack_containers_reach_each_other(daemon: Daemon, net6: tuple[str, str]) -> None:
    name, sub6 = net6
    base = sub6.removesuffix("/64")  # "fdc5:x:y::"
    info = _net(daemon, name)
    assert info["EnableIPv6"] is True
    cfgs = info["IPAM"]["Config"]
    assert [c["Subnet"] for c in cfgs][1] == sub6 and ":" not in cfgs[0]["Subnet"]
    assert cfgs[1]["Gateway"] == base + "1"
    # the bridge holds the IPv6 gateway, usable at once (no duplicate address detection)
    bridge = "br-" + info["Id"][:12]
    out = sh("ip", "-6", "addr", "show", "dev", bridge).stdout
    assert f"{base}1/64" in out and "nodad" in out
    api, cli = unique("api"), unique("cli")
    try:
        daemon.cove("run", "-d", "--network", name, "--name", api, *HTTPD, check=True)
        daemon.cove("run", "-d", "--network", name, "--name", cli, "busybox", "sleep", "300",
                    check=True)  # fmt: skip
        ep = _ep(daemon, api, name)
        assert ep["GlobalIPv6Address"] == base + "2"
        assert ep["GlobalIPv6PrefixLen"] == 64 and ep["IPv6Gateway"] == base + "1"
        assert ep["IPAddress"]  # dual stack: the IPv4 address is still there
        assert _ep(daemon, cli, name)["GlobalIPv6Address"] == base + "3"
        cid = inspect(daemon, api)["Id"]
        assert _net(daemon, name)["Containers"][cid]["IPv6Address"] == base + "2/64"
        # inside: the address (not tentative), the default route through the gateway
        addrs = daemon.cove("exec", cli, "ip", "-6", "addr", "show", "eth0").stdout
        line = next(x for x in addrs.splitlines() if f"{base}3/64" in x)
        assert "tentative" not in line
        routes = daemon.cove("exec", cli, "ip", "-6", "route").stdout
        assert f"default via {base}1" in routes
        want = inspect(daemon, api)["Config"]["Hostname"]
        assert _fetch(daemon, cli, f"http://[{base}2]/hostname", want) == want
        # by name: the embedded DNS answers AAAA, and ping6 goes over IPv6
        r = daemon.cove("exec", cli, "nslookup", "-type=aaaa", api, "127.0.0.11")
        assert base + "2" in r.stdout, r.stdout + r.stderr
        r = daemon.cove("exec", cli, "ping6", "-c", "1", "-W", "3", api)
        assert r.returncode == 0 and f"{base}2" in r.stdout, r.stdout + r.stderr
        r = daemon.cove("exec", cli, "ping6", "-c", "1", "-W", "3", f"{base}1")
        assert r.returncode == 0, r.stdout + r.stderr
        # /etc/hosts names the container's own IPv6 address too
        hosts = daemon.cove("exec", cli, "cat", "/etc/hosts").stdout
        assert f"{base}3\t" in hosts
    finally:
        daemon.cove("rm", "-f", api, cli)
    # released: the next container gets the lowest address again
    r = daemon.cove("run", "--rm", "--network", name, "busybox", "ip", "-6", "addr", "show",
                    "eth0")  # fmt: skip
    assert f"{base}2/64" in r.stdout, r.stdout + r.stderr


def test_ip6_and_connect_ip6(daemon: Daemon, net6: tuple[str, str]) -> None:
    name, sub6 = net6
    base = sub6.removesuffix("/64")
    fixed, joiner = unique("fixed"), unique("join")
    try:
        daemon.cove("run", "-d", "--network", name, "--ip6", base + "f00d", "--name", fixed,
                    *HTTPD, check=True)  # fmt: skip
        ep = _ep(daemon, fixed, name)
        assert ep["IPAMConfig"]["IPv6Address"] == base + "f00d"
        assert ep["GlobalIPv6Address"] == base + "f00d"
        # a container on the default bridge joins with a chosen IPv6 address
        daemon.cove("run", "-d", "--name", joiner, "busybox", "sleep", "300", check=True)
        daemon.cove("network", "connect", "--ip6", base + "beef", name, joiner, check=True)
        ep = _ep(daemon, joiner, name)
        assert ep["IPAMConfig"] == {"IPv6Address": base + "beef"}
        assert ep["GlobalIPv6Address"] == base + "beef" and ep["IPv6Gateway"] == base + "1"
        addrs = daemon.cove("exec", joiner, "ip", "-6", "addr", "show", "eth1").stdout
        assert f"{base}beef/64" in addrs
        want = inspect(daemon, fixed)["Config"]["Hostname"]
        assert _fetch(daemon, joiner, f"http://[{base}f00d]/hostname", want) == want
        # the default bridge itself has no IPv6: its top-level fields stay empty
        top = inspect(daemon, joiner)["NetworkSettings"]
        assert top["GlobalIPv6Address"] == "" and top["IPAddress"]
        # taken, and outside the subnet: dockerd's words
        r = daemon.cove("run", "--rm", "--network", name, "--ip6", base + "f00d", "busybox",
                        "true")  # fmt: skip
        assert r.returncode == 125 and "Address already in use" in r.stderr
        r = daemon.cove("run", "--rm", "--network", name, "--ip6", "fdc5:ffff::5", "busybox",
                        "true")  # fmt: skip
        assert "It does not belong to any of this network's subnets" in r.stderr
        daemon.cove("network", "disconnect", name, joiner, check=True)
        out = daemon.cove("exec", joiner, "ip", "-6", "addr").stdout
        assert base not in out
    finally:
        daemon.cove("rm", "-f", fixed, joiner)


def test_refusals_and_ipv6_subnet_without_ipv6(daemon: Daemon) -> None:
    r = daemon.cove("network", "create", "--ipv6", unique("nopool"))
    assert r.returncode == 1
    assert "could not find an available, non-overlapping IPv6 address pool" in r.stderr
    r = daemon.cove("run", "--rm", "--ip6", "fdc5::5", "busybox", "true")
    assert "user specified IP address is supported on user defined networks only" in r.stderr
    # dockerd keeps an IPv6 subnet given without --ipv6, and gives nobody an address from it
    name, sub6 = unique("v6off"), free_subnet6()
    daemon.cove("network", "create", "--subnet", sub6, name, check=True)
    try:
        info = _net(daemon, name)
        assert info["EnableIPv6"] is False
        assert [c["Subnet"] for c in info["IPAM"]["Config"]][1] == sub6
        assert ":" not in info["IPAM"]["Config"][0]["Subnet"]  # the automatic IPv4 subnet
        r = daemon.cove("run", "--rm", "--network", name, "--ip6", sub6.replace("/64", "5"),
                        "busybox", "ip", "-6", "addr")  # fmt: skip
        assert r.returncode == 0 and sub6.removesuffix("::/64") not in r.stdout
        for bad in ("zzz", "10.1.2.3"):
            r = daemon.cove("run", "--rm", "--network", name, "--ip6", bad, "busybox", "true")
            assert r.returncode == 125 and f"invalid IPv6 address: {bad}" in r.stderr
    finally:
        daemon.cove("network", "rm", name)


def test_docker_py_dual_stack(daemon: Daemon, net6: tuple[str, str]) -> None:
    docker = pytest.importorskip("docker")
    name, sub6 = net6
    base = sub6.removesuffix("/64")
    client = docker.APIClient(base_url=daemon.host)
    ctr = client.create_container(
        "busybox", ["sleep", "300"], host_config=client.create_host_config(network_mode=name),
        networking_config=client.create_networking_config(
            {name: client.create_endpoint_config(ipv6_address=base + "abc")}
        ),
    )  # fmt: skip
    try:
        client.start(ctr)
        ep = client.inspect_container(ctr)["NetworkSettings"]["Networks"][name]
        assert ep["IPAMConfig"]["IPv6Address"] == base + "abc"
        assert ep["GlobalIPv6Address"] == base + "abc" and ep["GlobalIPv6PrefixLen"] == 64
        assert client.inspect_network(name)["EnableIPv6"] is True
    finally:
        client.remove_container(ctr, force=True)
        client.close()


@pytest.mark.slow
def test_kill9_restart_keeps_ipv6() -> None:
    with running_daemon() as d:
        name, sub6, web, cli = unique("v6net"), free_subnet6(), unique("web"), unique("cli")
        base = sub6.removesuffix("/64")
        d.cove("network", "create", "--ipv6", "--subnet", free_subnet(), "--subnet", sub6, name,
               check=True)  # fmt: skip
        d.cove("run", "-d", "--network", name, "--name", web, *HTTPD, check=True)
        d.cove("run", "-d", "--network", name, "--name", cli, "busybox", "sleep", "600",
               check=True)  # fmt: skip
        d.stop(signal.SIGKILL)
        d.start()
        want = json.loads(d.cove("inspect", web).stdout)[0]["Config"]["Hostname"]
        assert _fetch(d, cli, f"http://[{base}2]/hostname", want) == want
        r = d.cove("exec", cli, "nslookup", "-type=aaaa", web, "127.0.0.11")
        assert base + "2" in r.stdout
        # addresses held through the restart are not handed out again
        r = d.cove("run", "--rm", "--network", name, "busybox", "ip", "-6", "addr", "show", "eth0")
        assert f"{base}4/64" in r.stdout, r.stdout + r.stderr
        d.cove("rm", "-f", web, cli)
        d.cove("network", "rm", name, check=True)


def test_default_bridge_with_ipv6_and_fixed_cidr_v6() -> None:
    """daemon.json ``ipv6`` + ``fixed-cidr-v6``: the default bridge is dual-stack, and the
    top-level NetworkSettings fields carry the IPv6 address, as dockerd fills them."""
    sub6 = free_subnet6()
    base = sub6.removesuffix("/64")
    with running_daemon(config={"ipv6": True, "fixed-cidr-v6": sub6}) as d:
        web = unique("web")
        d.cove("run", "-d", "--name", web, *HTTPD, check=True)
        info = json.loads(d.cove("network", "inspect", "bridge", check=True).stdout)[0]
        assert info["EnableIPv6"] is True
        assert info["IPAM"]["Config"][1] == {"Subnet": sub6, "Gateway": base + "1"}
        ns = json.loads(d.cove("inspect", web).stdout)[0]["NetworkSettings"]
        assert ns["GlobalIPv6Address"] == base + "2" and ns["GlobalIPv6PrefixLen"] == 64
        assert ns["IPv6Gateway"] == base + "1" and ns["IPAddress"]
        assert ns["Networks"]["bridge"]["GlobalIPv6Address"] == base + "2"
        want = json.loads(d.cove("inspect", web).stdout)[0]["Config"]["Hostname"]
        fetch = f"timeout 3 wget -qO- http://[{base}2]/hostname"
        loop = f"for i in 1 2 3 4 5 6 7 8 9; do {fetch} && exit; sleep 0.2; done; exit 1"
        r = d.cove("run", "--rm", "busybox", "sh", "-c", loop)
        assert r.stdout.strip() == want, r.stderr
        d.cove("rm", "-f", web)
