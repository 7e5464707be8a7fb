"""Both user-mode networks of a rootless daemon: pasta (the default when installed) and
slirp4netns, chosen with daemon.json's ``rootless-network`` (issue 18).  For each: the
network that runs is the one asked for, -p on every address and on 127.0.0.1 answers
HTTP from the host, a container reaches a listener on the host's own address (nothing
leaves the machine), and the ports keep answering while no daemon runs."""

from __future__ import annotations

import json
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
