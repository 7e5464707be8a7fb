"""Overlay networks created at once on two hosts of one etcd store never share a name or a
subnet (the store claims both in one transaction), and a create that fails leaves no claim:
not while etcd is down, and not one left by an older, non-atomic create."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import subprocess
import threading
from collections.abc import Iterator

import pytest

from tests.integration.overlay.cluster import ETCD_PORT, Cluster, cluster

docker = pytest.importorskip("docker")

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "etcd"], capture_output=True).returncode != 0,
    reason="etcd-server is not installed",
)

ROUNDS = 4


@pytest.fixture(scope="module")
def cl() -> Iterator[Cluster]:
    with cluster(2, ttl=3, busybox=False) as c:
        yield c


def _at_once(cl: Cluster, names: list[str]) -> list[BaseException | None]:
    """``POST /networks/create`` (overlay) of names[i] on host i % 2, all released at once
    (docker-py, one client each: a CLI per request would spread them out in time); each
    result is None or the error."""
    clients = [docker.DockerClient(base_url=cl.hosts[i % 2].host) for i in range(len(names))]
    out: list[BaseException | None] = [None] * len(names)
    gate = threading.Barrier(len(names))

    def run(i: int) -> None:
        gate.wait()
        try:
            clients[i].networks.create(names[i], driver="overlay")
        except Exception as e:
            out[i] = e

    ts = [threading.Thread(target=run, args=(i,)) for i in range(len(names))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    for c in clients:
        c.close()
    return out


def _subnet(cl: Cluster, name: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    r = cl.hosts[0].cove("network", "inspect", name)
    if r.returncode != 0:  # made on the other host: seen here once the watch brings it
        r = cl.hosts[1].cove("network", "inspect", name, check=True)
    return ipaddress.ip_network(json.loads(r.stdout)[0]["IPAM"]["Config"][0]["Subnet"])


def _etcd(cl: Cluster, path: str, body: dict[str, str]) -> str:
    r = cl.in_ns(
        cl.underlay_ns, "curl", "-s", "-m", "5", "-X", "POST", "-d", json.dumps(body),
        f"http://{cl.etcd_addr}:{ETCD_PORT}{path}",
    )  # fmt: skip
    return r.stdout


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def test_concurrent_creates_on_two_hosts(cl: Cluster) -> None:
    for rnd in range(ROUNDS):
        names = [f"ovr{rnd}x{i}{os.urandom(2).hex()}" for i in range(6)]
        got = _at_once(cl, names)
        try:
            assert got == [None] * len(names), got
            subnets = [_subnet(cl, n) for n in names]
            assert len(set(subnets)) == len(subnets), subnets
        finally:
            for i, n in enumerate(names):
                cl.hosts[i % 2].cove("network", "rm", n)


def test_same_name_on_two_hosts(cl: Cluster) -> None:
    for rnd in range(ROUNDS):
        name = f"ovsame{rnd}{os.urandom(2).hex()}"
        got = _at_once(cl, [name] * 4)
        try:
            assert sum(e is None for e in got) == 1, got
            assert all("already exists" in str(e) for e in got if e is not None), got
        finally:
            for d in cl.hosts:
                if d.cove("network", "rm", name).returncode == 0:
                    break


def test_failed_create_leaves_no_claim(cl: Cluster) -> None:
    a = cl.hosts[0]
    cl.stop_etcd()
    try:
        r = a.cove("network", "create", "-d", "overlay", "--subnet", "10.31.7.0/24", "downnet")
        assert r.returncode != 0 and "cluster store" in r.stderr, r.stderr
        assert "downnet" not in a.cove("network", "ls").stdout
    finally:
        cl.start_etcd()
    # the name and the subnet are free once the store is back (the lease comes back first)
    for _ in range(100):
        r = a.cove("network", "create", "-d", "overlay", "--subnet", "10.31.7.0/24", "downnet")
        if "not reachable" not in r.stderr and "unreachable" not in r.stderr:
            break
        subprocess.run(["sleep", "0.2"])
    assert r.returncode == 0, r.stderr
    a.cove("network", "rm", "downnet", check=True)


def test_stale_claim_of_an_older_create_is_dropped(cl: Cluster) -> None:
    # what a create that died between claiming the name and writing the network left
    name = f"ovstale{os.urandom(2).hex()}"
    _etcd(cl, "/v3/kv/put", {"key": _b64(f"/cove/names/{name}"), "value": _b64("0" * 64)})
    _etcd(cl, "/v3/kv/put", {"key": _b64("/cove/subnets/10.31.8.0_24"), "value": _b64("1" * 64)})
    a = cl.hosts[0]
    r = a.cove("network", "create", "-d", "overlay", "--subnet", "10.31.8.0/24", name)
    assert r.returncode == 0, r.stderr
    a.cove("network", "rm", name, check=True)
    # removal released every claim: nothing of it is left under /cove/
    left = _etcd(cl, "/v3/kv/range", {"key": _b64("/cove/"), "range_end": _b64("/cove0")})
    keys = [base64.b64decode(kv["key"]).decode() for kv in json.loads(left).get("kvs") or []]
    assert not [k for k in keys if name in k or "10.31.8.0" in k], keys
