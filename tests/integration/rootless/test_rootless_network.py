"""Both user-mode networks of a rootless daemon: slirp4netns (the default) and pasta,
chosen with daemon.json's ``rootless-network`` (issue 18).  For each: the network that
runs is the one asked for, -p on every address and on 127.0.0.1 answers HTTP from the
host, a UDP port answers a client on 127.0.0.1, a container reaches a listener on the
host's own address (nothing leaves the machine), and the ports keep answering while no
daemon runs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from collections.abc import Iterator

import pytest

from cove.network.usermode import kind_of
from tests.integration.rootless.conftest import (
    User,
    check_outbound,
    host_address,
    user_with_config,
)
from tests.integration.rootless.test_rootless import _get

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["pasta", "slirp4netns"])
def dave(request: pytest.FixtureRequest, tun_for_users: None) -> Iterator[User]:
    kind = str(request.param)
    with user_with_config("covertn", {"rootless-network": kind}, (kind,)) as u:
        yield u


def _net_kind(u: User) -> str:
    with open(f"{u.runtime_dir}/cove/usermode-net.pid") as f:
        return kind_of(int(f.read().strip()))


def test_the_chosen_network_runs(dave: User, request: pytest.FixtureRequest) -> None:
    assert _net_kind(dave) == request.node.callspec.params["dave"]
    links = dave.ok("run", "--rm", "--network", "host", "busybox", "ip", "-o", "-4", "addr")
    assert "tap0" in links and "10.0.2.100/24" in links


def test_outbound_and_ports(dave: User) -> None:
    host = host_address()
    check_outbound(dave)
    page = "echo hello-net > /i.html; httpd -f -p 80 -h /"
    dave.ok("run", "-d", "--name", "web", "-p", "18490:80", "-p", "127.0.0.1:18491:80",
            "busybox", "sh", "-c", page)  # fmt: skip
    try:
        assert _get("http://127.0.0.1:18490/i.html") == "hello-net\n"
        assert _get(f"http://{host}:18490/i.html") == "hello-net\n"
        assert _get("http://127.0.0.1:18491/i.html") == "hello-net\n"
        # a port published already: dockerd's words
        r = dave.cove("run", "--rm", "-p", "18490:80", "busybox", "true")
        assert r.returncode == 125 and "port is already allocated" in r.stderr, r.stderr
        # ports outlive the daemon, as its containers do
        dave.stop()
        assert _get("http://127.0.0.1:18490/i.html") == "hello-net\n"
        dave.start()
        assert _get(f"http://{host}:18490/i.html") == "hello-net\n"
        ports = json.loads(dave.ok("inspect", "web"))[0]["NetworkSettings"]["Ports"]
        assert ports["80/tcp"][0]["HostPort"] == "18490"
    finally:
        dave.cove("rm", "-f", "web")


# A UDP echo server: busybox's nc here has no -u, so the host's python3 is lent to the
# container read-only (merged /usr: /lib and /lib64 are /usr's).
_PY_MOUNTS = ("-v", "/usr:/usr:ro", "-v", "/usr/lib:/lib:ro", "-v", "/usr/lib64:/lib64:ro",
              "-v", "/etc/ld.so.cache:/etc/ld.so.cache:ro")  # fmt: skip
_UDP_ECHO = (
    "import socket\n"
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
    "s.bind(('0.0.0.0', 53))\n"
    "while True:\n"
    "    d, a = s.recvfrom(2048)\n"
    "    s.sendto(b'echo:' + d, a)\n"
)


def _udp_ask(port: int, text: bytes) -> bytes:
    """Send until the answer comes (the server may still be starting), 20 s at most."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        deadline = time.monotonic() + 20
        while True:
            s.sendto(text, ("127.0.0.1", port))
            try:
                return s.recv(2048)
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise


def test_udp_port(dave: User) -> None:
    """-p 15353:53/udp answers from the host's 127.0.0.1 with either network."""
    if not os.path.exists("/usr/lib64") or shutil.which("python3") is None:
        pytest.skip("needs the host's python3 and a merged /usr")
    dave.ok("run", "-d", "--name", "udp", "-p", "15353:53/udp", *_PY_MOUNTS, "busybox",
            "/usr/bin/python3", "-c", _UDP_ECHO)  # fmt: skip
    try:
        assert _udp_ask(15353, b"one") == b"echo:one"
        assert _udp_ask(15353, b"two") == b"echo:two"
        ports = dave.ok("port", "udp")
        assert "53/udp -> 0.0.0.0:15353" in ports, ports
    finally:
        dave.cove("rm", "-f", "udp")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("0.0.0.0", 15353))  # the removal gave the host's port back
