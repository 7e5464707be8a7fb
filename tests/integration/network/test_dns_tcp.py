"""The embedded DNS over TCP: an answer too large for UDP is truncated there and whole over
TCP, and a name it does not know is relayed upstream over TCP.  The queries are made from
a container's own namespace, as its resolver would make them."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator

import pytest

from cove.network import dnswire
from cove.network.nsutil import in_netns
from tests.daemon_fixture import Daemon
from tests.integration.network.conftest import FakeUpstream, OtherHost, create_network, unique

pytestmark = pytest.mark.integration

CROWD = 36  # 36 A records do not fit 512 bytes


def _netns(daemon: Daemon, name: str) -> str:
    pid = json.loads(daemon.cove("inspect", name, check=True).stdout)[0]["State"]["Pid"]
    return f"/proc/{pid}/ns/net"


def _udp(netns: str, query: bytes) -> bytes:
    def ask() -> bytes:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(query, ("127.0.0.11", 53))
            return s.recv(65535)

    return in_netns(netns, ask)


def _tcp(netns: str, *queries: bytes) -> list[bytes]:
    """Several queries on one connection, as RFC 7766 allows."""

    def ask() -> list[bytes]:
        out = []
        with socket.create_connection(("127.0.0.11", 53), timeout=5) as s:
            for q in queries:
                s.sendall(struct.pack("!H", len(q)) + q)
                f = s.makefile("rb")
                (n,) = struct.unpack("!H", f.read(2))
                out.append(f.read(n))
        return out

    return in_netns(netns, ask)


@pytest.fixture
def crowd(daemon: Daemon) -> Iterator[tuple[str, str]]:
    """(network, client): CROWD containers share the alias ``crowd``."""
    net, client = create_network(daemon), unique("cli")
    names = [unique("c") for _ in range(CROWD)]
    try:
        for n in names:
            daemon.cove("run", "-d", "--network", net, "--network-alias", "crowd", "--name", n,
                        "busybox", "sleep", "120", check=True)  # fmt: skip
        daemon.cove("run", "-d", "--network", net, "--name", client, "busybox", "sleep", "120",
                    check=True)  # fmt: skip
        yield net, client
    finally:
        daemon.cove("rm", "-f", client, *names)
        daemon.cove("network", "rm", net)


def test_large_answer_is_truncated_over_udp_and_whole_over_tcp(
    daemon: Daemon, crowd: tuple[str, str]
) -> None:
    _net, client = crowd
    ns = _netns(daemon, client)
    query = dnswire.build_query(7, "crowd")
    small = _udp(ns, query)
    assert len(small) <= 512 and small[2] & 0x02  # TC
    rcode, some = dnswire.answers_of(small)
    assert rcode == 0 and 0 < len(some) < CROWD
    whole, again = _tcp(ns, query, dnswire.build_query(8, "crowd"))
    assert not whole[2] & 0x02
    rcode, every = dnswire.answers_of(whole)
    assert rcode == 0 and len(set(every)) == CROWD and set(some) <= set(every)
    assert struct.unpack("!H", again[:2])[0] == 8  # the second query on the connection
    # a client offering a larger UDP payload (EDNS) gets it all over UDP
    edns = query[:10] + b"\x00\x01" + query[12:] + b"\x00" + struct.pack("!HHIH", 41, 4096, 0, 0)
    assert len(dnswire.answers_of(_udp(ns, edns))[1]) == CROWD


def test_unknown_names_go_upstream_over_tcp(daemon: Daemon, other_host: OtherHost) -> None:
    net, client = create_network(daemon), unique("cli")
    up = FakeUpstream(f"/run/netns/{other_host.name}", other_host.addr, tcp=True)
    try:
        daemon.cove("run", "-d", "--network", net, "--dns", other_host.addr, "--name", client,
                    "busybox", "sleep", "60", check=True)  # fmt: skip
        ns = _netns(daemon, client)
        (reply,) = _tcp(ns, dnswire.build_query(9, "outside.example.test"))
        assert dnswire.answers_of(reply) == (0, ["10.9.9.9"])
        assert up.asked == ["outside.example.test"]
        (reply,) = _tcp(ns, dnswire.build_query(10, client))  # its own name: answered here
        assert len(dnswire.answers_of(reply)[1]) == 1 and up.asked == ["outside.example.test"]
    finally:
        up.close()
        daemon.cove("rm", "-f", client)
        daemon.cove("network", "rm", net)
