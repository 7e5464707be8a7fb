"""The host's own connections to a published port get the bridge's MSS (network/portmss.py),
and nothing else does: not other loopback connections, not other namespaces.  The program
goes away with its last port at a clean stop, and a killed daemon's copy is replaced."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator

import pytest

from cove.network import bpf
from cove.network.names import port_mss_name, table_name
from tests.daemon_fixture import Daemon, running_daemon
from tests.integration.network.conftest import free_port, host_ip, unique, wait_http

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not bpf.cgroup2_root(), reason="no cgroup2 hierarchy mounted"),
]

HTTPD = ("busybox", "httpd", "-f", "-p", "80", "-h", "/etc")
LOOPBACK_ADVMSS = 65483  # lo's MTU 65536 less headers and the timestamp option
_TCPI_ADVMSS = 84  # offset in struct tcp_info


def advmss(host: str, port: int) -> int:
    """The advertised MSS of a fresh connection from this (the host's) namespace; an IPv6
    ``host`` goes through an AF_INET6 socket (``::ffff:127.0.0.1`` travels as IPv4)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect((host, port))
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        return int(struct.unpack_from("<I", info, _TCPI_ADVMSS)[0])


def programs(d: Daemon) -> list[str]:
    name = port_mss_name(table_name(d.exec_root))
    fd = os.open(bpf.cgroup2_root(), os.O_RDONLY | os.O_DIRECTORY)
    try:
        found = list(bpf.programs_named(fd, bpf.ATTACH_CGROUP_SOCK_OPS, name))
    finally:
        os.close(fd)
    for f in found:
        os.close(f)
    return [name] * len(found)


@pytest.fixture
def web(daemon: Daemon) -> Iterator[tuple[str, int, int]]:
    """A web server published on 127.0.0.1:p1 and on every address at p2."""
    name, p1, p2 = unique("mss"), free_port(), free_port()
    daemon.cove(
        "run", "-d", "--name", name, "-p", f"127.0.0.1:{p1}:80", "-p", f"{p2}:80", *HTTPD,
        check=True,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{p1}/hostname", "\n")
        yield name, p1, p2
    finally:
        daemon.cove("rm", "-f", name)


def test_host_connections_to_published_ports_get_the_bridge_mss(
    daemon: Daemon, web: tuple[str, int, int]
) -> None:
    _name, p1, p2 = web
    assert advmss("127.0.0.1", p1) <= 1460
    assert advmss("127.0.0.1", p2) <= 1460
    assert advmss("127.0.0.2", p2) <= 1460  # anywhere in 127/8
    assert advmss(host_ip(), p2) <= 1460  # the host's own address, also routed over lo
    assert advmss("::ffff:127.0.0.1", p1) <= 1460  # an IPv6 socket to a mapped address
    assert advmss(f"::ffff:{host_ip()}", p2) <= 1460
    # p1 is published on 127.0.0.1 only: the same port on another local address is not it
    with socket.create_server((host_ip(), p1)):
        assert advmss(host_ip(), p1) == LOOPBACK_ADVMSS
    # an unrelated loopback service keeps lo's MSS
    with socket.create_server(("127.0.0.1", 0)) as srv:
        assert advmss("127.0.0.1", srv.getsockname()[1]) == LOOPBACK_ADVMSS
    # real IPv6 to the same port number is not the IPv4 DNAT (its v4 fields read 127.0.0.6)
    with socket.create_server(("::1", p2), family=socket.AF_INET6):
        assert advmss("::1", p2) > 1460


def test_other_namespaces_are_left_alone(daemon: Daemon, web: tuple[str, int, int]) -> None:
    """Another namespace's 127.0.0.1:p2 is its own service, not the published port."""
    _name, _p1, p2 = web
    script = (
        "import socket, struct, subprocess\n"
        "subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)\n"
        f"srv = socket.create_server(('127.0.0.1', {p2}))\n"
        f"c = socket.create_connection(('127.0.0.1', {p2}))\n"
        "i = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)\n"
        f"print(struct.unpack_from('<I', i, {_TCPI_ADVMSS})[0])\n"
    )
    r = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", script], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == LOOPBACK_ADVMSS


def test_removed_port_is_forgotten(daemon: Daemon) -> None:
    name, port = unique("mss"), free_port()
    daemon.cove("run", "-d", "--name", name, "-p", f"{port}:80", *HTTPD, check=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/hostname", "\n")
        assert advmss("127.0.0.1", port) <= 1460
    finally:
        daemon.cove("rm", "-f", name, check=True)
    with socket.create_server(("127.0.0.1", port)):
        assert advmss("127.0.0.1", port) == LOOPBACK_ADVMSS


def test_clean_stop_detaches_and_kill_is_recovered() -> None:
    port = free_port()
    with running_daemon() as d:
        assert programs(d) == []  # nothing published yet: nothing loaded
        d.cove("run", "-d", "--name", "web", "-p", f"{port}:80", *HTTPD, check=True)
        wait_http(f"http://127.0.0.1:{port}/hostname", "\n")
        assert len(programs(d)) == 1
        d.stop(signal.SIGKILL)
        assert len(programs(d)) == 1  # left attached for the running container
        d.start()
        assert len(programs(d)) == 1  # replaced, not doubled
        assert advmss("127.0.0.1", port) <= 1460
        d.cove("rm", "-f", "web", check=True)
        d.stop()
        assert programs(d) == []


def test_switched_off_by_the_daemon_option() -> None:
    port = free_port()
    with running_daemon(config={"local-port-mss": False}) as d:
        d.cove("run", "-d", "--name", "web", "-p", f"{port}:80", *HTTPD, check=True)
        wait_http(f"http://127.0.0.1:{port}/hostname", "\n")
        assert programs(d) == []
        assert advmss("127.0.0.1", port) == LOOPBACK_ADVMSS
        d.cove("rm", "-f", "web", check=True)
