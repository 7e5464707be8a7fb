"""User-defined bridges: DNS by name and alias, isolation, --internal, connect/disconnect,
links, icc=false, the embedded DNS server forwarding to a (fake) upstream."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import Daemon
from tests.integration.network.conftest import (
    FakeUpstream,
    OtherHost,
    create_network,
    free_subnet,
    inspect,
    unique,
)

pytestmark = pytest.mark.integration
HTTPD = ("busybox", "httpd", "-f", "-p", "80", "-h", "/etc")


@pytest.fixture
def net(daemon: Daemon) -> Iterator[str]:
    name = create_network(daemon)
    yield name
    daemon.cove("network", "rm", name)


def _wget(daemon: Daemon, *args: str, url: str) -> str:
    # not `timeout` as PID 1: the SIGTERM it sends to its own PID 1 child would be ignored
    r = daemon.cove(
        "run", "--rm", *args, "busybox", "sh", "-c", f"timeout 5 wget -qO- {url}; exit $?"
    )
    return r.stdout.strip() if r.returncode == 0 else f"<failed {r.returncode}: {r.stderr}>"


def test_dns_by_name_and_alias(daemon: Daemon, net: str) -> None:
    api = unique("api")
    daemon.cove("run", "-d", "--network", net, "--network-alias", "svc", "--name", api, *HTTPD,
                check=True)  # fmt: skip
    try:
        want = inspect(daemon, api)["Config"]["Hostname"]
        assert _wget(daemon, "--network", net, url=f"http://{api}/hostname") == want
        assert _wget(daemon, "--network", net, url="http://svc/hostname") == want
        r = daemon.cove("run", "--rm", "--network", net, "busybox", "cat", "/etc/resolv.conf")
        assert "nameserver 127.0.0.11" in r.stdout
        # names are scoped to the network: the default bridge does not know them
        assert _wget(daemon, url=f"http://{api}/hostname").startswith("<failed")
        info = json.loads(daemon.cove("network", "inspect", net, check=True).stdout)[0]
        cid = inspect(daemon, api)["Id"]
        assert info["Containers"][cid]["Name"] == api
        ls = daemon.cove("network", "ls", "--format", "{{.Name}} {{.Driver}}").stdout
        assert f"{net} bridge" in ls.splitlines()
    finally:
        daemon.cove("rm", "-f", api)


def test_networks_are_isolated(daemon: Daemon, net: str) -> None:
    other = create_network(daemon)
    api = unique("api")
    try:
        daemon.cove("run", "-d", "--network", net, "--name", api, *HTTPD, check=True)
        ip = inspect(daemon, api)["NetworkSettings"]["Networks"][net]["IPAddress"]
        assert _wget(daemon, "--network", other, url=f"http://{ip}/hostname").startswith("<failed")
        assert not _wget(daemon, "--network", net, url=f"http://{ip}/hostname").startswith(
            "<failed"
        )
    finally:
        daemon.cove("rm", "-f", api)
        daemon.cove("network", "rm", other)


def test_internal_network_cannot_leave(daemon: Daemon, other_host: OtherHost) -> None:
    internal, normal = create_network(daemon, "--internal"), create_network(daemon)
    srv = other_host.run  # a web server on the stand-in for another host
    import subprocess

    p = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            other_host.name,
            "busybox",
            "httpd",
            "-f",
            "-p",
            "8000",
            "-h",
            "/etc",
        ]
    )
    try:
        url = f"http://{other_host.addr}:8000/hostname"
        assert not _wget(daemon, "--network", normal, url=url).startswith("<failed")
        assert _wget(daemon, "--network", internal, url=url).startswith("<failed")
        assert srv("true").returncode == 0
    finally:
        p.kill()
        p.wait()
        daemon.cove("network", "rm", internal, normal)


def test_connect_and_disconnect_running_container(daemon: Daemon, net: str) -> None:
    api, cli, home = unique("api"), unique("cli"), create_network(daemon)
    daemon.cove("run", "-d", "--network", net, "--name", api, *HTTPD, check=True)
    daemon.cove("run", "-d", "--network", home, "--name", cli, "busybox", "sleep", "60",
                check=True)  # fmt: skip
    try:
        daemon.cove("network", "connect", "--alias", "cli-alias", net, cli, check=True)
        links = daemon.cove("exec", cli, "ip", "-o", "-4", "addr").stdout
        assert " eth1 " in links
        r = daemon.cove("exec", cli, "timeout", "5", "wget", "-qO-", f"http://{api}/hostname")
        assert r.returncode == 0, r.stderr
        r = daemon.cove("exec", api, "nslookup", "cli-alias", "127.0.0.11")
        assert inspect(daemon, cli)["NetworkSettings"]["Networks"][net]["IPAddress"] in r.stdout
        daemon.cove("network", "disconnect", net, cli, check=True)
        assert " eth1 " not in daemon.cove("exec", cli, "ip", "-o", "-4", "addr").stdout
        assert net not in inspect(daemon, cli)["NetworkSettings"]["Networks"]
    finally:
        daemon.cove("rm", "-f", api, cli)
        daemon.cove("network", "rm", home)


def test_static_ip_and_subnet(daemon: Daemon) -> None:
    sub = free_subnet()
    n = sub.split(".")[2]
    name = unique("net")
    daemon.cove("network", "create", "--subnet", sub, "--gateway", f"10.197.{n}.254", name,
                check=True)  # fmt: skip
    c = unique("x")
    try:
        daemon.cove("run", "-d", "--network", name, "--ip", f"10.197.{n}.50", "--name", c,
                    "busybox", "sleep", "60", check=True)  # fmt: skip
        ep = inspect(daemon, c)["NetworkSettings"]["Networks"][name]
        assert ep["IPAddress"] == f"10.197.{n}.50" and ep["Gateway"] == f"10.197.{n}.254"
        r = daemon.cove("network", "rm", name)
        assert r.returncode == 1 and "has active endpoints" in r.stderr
    finally:
        daemon.cove("rm", "-f", c)
        daemon.cove("network", "rm", name)


def test_links_env_and_hosts(daemon: Daemon) -> None:
    db = unique("db")
    daemon.cove("run", "-d", "--name", db, "--expose", "5432", "-e", "SECRET=1", "busybox",
                "sleep", "60", check=True)  # fmt: skip
    try:
        ip = inspect(daemon, db)["NetworkSettings"]["IPAddress"]
        r = daemon.cove("run", "--rm", "--link", f"{db}:db", "busybox", "sh", "-c",
                        "env; cat /etc/hosts")  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert f"DB_PORT_5432_TCP=tcp://{ip}:5432" in r.stdout
        assert f"DB_PORT=tcp://{ip}:5432" in r.stdout
        assert "DB_ENV_SECRET=1" in r.stdout
        assert f"{ip}\tdb " in r.stdout
        r = daemon.cove("run", "--rm", "--link", "no-such-db:db", "busybox", "true")
        assert r.returncode == 125
    finally:
        daemon.cove("rm", "-f", db)


def test_icc_off_allows_only_links(daemon: Daemon) -> None:
    name = create_network(daemon, "-o", "com.docker.network.bridge.enable_icc=false")
    web = unique("web")
    try:
        daemon.cove("run", "-d", "--network", name, "--name", web, "--expose", "80", *HTTPD,
                    check=True)  # fmt: skip
        ip = inspect(daemon, web)["NetworkSettings"]["Networks"][name]["IPAddress"]
        url = f"http://{ip}/hostname"
        assert _wget(daemon, "--network", name, url=url).startswith("<failed")
        assert not _wget(daemon, "--network", name, "--link", f"{web}:w", url=url).startswith(
            "<failed"
        )
    finally:
        daemon.cove("rm", "-f", web)
        daemon.cove("network", "rm", name)


def test_dns_forwards_unknown_names_upstream(
    daemon: Daemon, net: str, other_host: OtherHost
) -> None:
    up = FakeUpstream(f"/run/netns/{other_host.name}", other_host.addr)
    try:
        r = daemon.cove("run", "--rm", "--network", net, "--dns", other_host.addr, "busybox",
                        "nslookup", "outside.example.test")  # fmt: skip
        assert "10.9.9.9" in r.stdout, r.stdout + r.stderr
        assert "outside.example.test" in up.asked
        r = daemon.cove("run", "--rm", "--network", net, "--dns", other_host.addr, "busybox",
                        "cat", "/etc/resolv.conf")  # fmt: skip
        assert other_host.addr not in r.stdout  # the container asks 127.0.0.11 only
    finally:
        up.close()


def test_endpoint_links_driver_opts_mac_and_spaced_names(daemon: Daemon) -> None:
    # dockerd takes names with spaces; so does the API here
    net = unique("net") + " two"
    sub = free_subnet()
    daemon.cove("network", "create", "--subnet", sub, net, check=True)
    app, upstream, idle = unique("app"), unique("up"), unique("idle")
    try:
        info = json.loads(daemon.cove("network", "inspect", net, check=True).stdout)[0]
        assert info["Name"] == net
        # on a user-defined network a link is a DNS alias whose target may not exist yet
        daemon.cove("run", "-d", "--network", net, "--link", f"{upstream}:bar", "--name", app,
                    "busybox", "sleep", "60", check=True)  # fmt: skip
        daemon.cove("run", "-d", "--network", net, "--name", upstream, "busybox", "sleep", "60",
                    check=True)  # fmt: skip
        ip = inspect(daemon, upstream)["NetworkSettings"]["Networks"][net]["IPAddress"]
        r = daemon.cove("exec", app, "nslookup", "bar", "127.0.0.11")
        assert ip in r.stdout, r.stdout + r.stderr
        # connect with links and driver options on a created container: kept on the endpoint
        daemon.cove("create", "--name", idle, "busybox", "sleep", "60", check=True)
        daemon.cove("network", "connect", "--link", f"{upstream}:baz", "--driver-opt", "k=v",
                    net, idle, check=True)  # fmt: skip
        ep = inspect(daemon, idle)["NetworkSettings"]["Networks"][net]
        assert ep["Links"] == [f"{upstream}:baz"] and ep["DriverOpts"] == {"k": "v"}
        daemon.cove("network", "disconnect", "bridge", idle, check=True)
        daemon.cove("start", idle, check=True)
        r = daemon.cove("exec", idle, "nslookup", "baz", "127.0.0.11")
        assert ip in r.stdout, r.stdout + r.stderr
        # the linked container leaving takes the alias with it
        daemon.cove("stop", "-t", "0", upstream, check=True)
        r = daemon.cove("exec", idle, "nslookup", "baz", "127.0.0.11")
        assert ip not in r.stdout
    finally:
        daemon.cove("rm", "-f", app, upstream, idle)
        daemon.cove("network", "rm", net)


def test_rm_link_drops_the_alias(daemon: Daemon, net: str) -> None:
    """``rm --link parent/alias`` removes one link; both containers stay, the alias goes."""
    app, up = unique("app"), unique("up")
    daemon.cove("run", "-d", "--network", net, "--name", up, "busybox", "sleep", "60",
                check=True)  # fmt: skip
    daemon.cove("run", "-d", "--network", net, "--link", f"{up}:bar", "--name", app,
                "busybox", "sleep", "60", check=True)  # fmt: skip
    try:
        ip = inspect(daemon, up)["NetworkSettings"]["Networks"][net]["IPAddress"]
        assert ip in daemon.cove("exec", app, "nslookup", "bar", "127.0.0.11").stdout
        r = daemon.cove("rm", "--link", f"{app}/nope")
        assert r.returncode == 1 and f"No such container: {app}/nope" in r.stderr
        daemon.cove("rm", "--link", f"/{app}/bar", check=True)
        assert inspect(daemon, app)["HostConfig"]["Links"] is None
        assert ip not in daemon.cove("exec", app, "nslookup", "bar", "127.0.0.11").stdout
        assert len(daemon.cove("ps", "-q", "--filter", f"name={app}").stdout.split()) == 1
        assert inspect(daemon, up)["State"]["Running"] is True
    finally:
        daemon.cove("rm", "-f", app, up)
