"""Concurrent clients never get overlapping resources: network subnets and names, container
names, volumes, image tags and removals, host ports.  Each case fires the same request from
several threads at once (docker-py, each thread its own connection) for a few rounds."""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.daemon_fixture import Daemon

docker = pytest.importorskip("docker")
pytestmark = pytest.mark.integration

ROUNDS = 5
WIDTH = 3


def _unique(prefix: str) -> str:
    return f"{prefix}{os.urandom(3).hex()}"


@pytest.fixture
def clients(daemon: Daemon) -> Iterator[list[Any]]:
    cs = [docker.DockerClient(base_url=daemon.host, timeout=60) for _ in range(WIDTH)]
    yield cs
    for c in cs:
        c.close()


def _together(clients: list[Any], fn: Callable[[Any, int], Any]) -> list[Any]:
    """fn(client, i) in one thread per client, released at the same instant; each result
    is the return value or the exception raised."""
    out: list[Any] = [None] * len(clients)
    gate = threading.Barrier(len(clients))

    def run(i: int) -> None:
        gate.wait()
        try:
            out[i] = fn(clients[i], i)
        except Exception as e:
            out[i] = e

    ts = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return out


def _remove(client: Any, names: list[str]) -> None:
    for n in names:
        try:
            client.containers.get(n).remove(force=True)
        except docker.errors.NotFound:
            pass


def _status(e: object) -> int | None:
    return getattr(getattr(e, "response", None), "status_code", None)


def test_network_creates_never_overlap(clients: list[Any]) -> None:
    made: list[Any] = []
    try:
        for _ in range(ROUNDS):
            nets = _together(clients, lambda c, i: c.networks.create(_unique("race")))
            assert all(not isinstance(n, Exception) for n in nets), nets
            made += nets
            subnets = []
            for n in nets:
                n.reload()
                subnets.append(ipaddress.ip_network(n.attrs["IPAM"]["Config"][0]["Subnet"]))
            for i, a in enumerate(subnets):
                for b in subnets[i + 1 :]:
                    assert not a.overlaps(b), subnets
            # and the bridges are really there, one per network
            for n in nets:
                assert n.attrs["Options"] is not None
    finally:
        for n in made:
            n.remove()


def test_network_same_name_once(clients: list[Any]) -> None:
    name = _unique("racename")
    got = _together(clients, lambda c, i: c.networks.create(name))
    ok = [n for n in got if not isinstance(n, Exception)]
    try:
        assert len(ok) == 1, got
        for e in got:
            if isinstance(e, Exception):
                assert _status(e) == 409 and "already exists" in str(e), e
        assert len(clients[0].networks.list(names=[name])) == 1
    finally:
        for n in ok:
            n.remove()


def test_container_same_name_once(clients: list[Any]) -> None:
    name = _unique("racec")
    got = _together(clients, lambda c, i: c.containers.create("busybox", "true", name=name))
    ok = [x for x in got if not isinstance(x, Exception)]
    try:
        assert len(ok) == 1, got
        assert all(_status(e) == 409 for e in got if isinstance(e, Exception)), got
    finally:
        for x in ok:
            x.remove(force=True)


def test_container_rename_same_name_once(clients: list[Any]) -> None:
    made = [clients[0].containers.create("busybox", "true") for _ in clients]
    name = _unique("racer")
    try:
        got = _together(clients, lambda c, i: c.api.rename(made[i].id, name))
        assert sum(not isinstance(x, Exception) for x in got) == 1, got
        assert all(_status(e) == 409 for e in got if isinstance(e, Exception)), got
    finally:
        for x in made:
            x.remove(force=True)


def test_volume_creates(clients: list[Any]) -> None:
    name = _unique("racev")
    got = _together(clients, lambda c, i: c.volumes.create(name))
    anon = _together(clients, lambda c, i: c.volumes.create())
    try:
        # the same name: every request succeeds and they all got the one volume
        assert all(not isinstance(v, Exception) for v in got), got
        assert {v.attrs["Mountpoint"] for v in got} == {got[0].attrs["Mountpoint"]}
        assert all(not isinstance(v, Exception) for v in anon), anon
        assert len({v.name for v in anon}) == len(anon)
    finally:
        for v in [got[0], *anon]:
            if not isinstance(v, Exception):
                v.remove()


def test_image_tag_and_rmi(clients: list[Any]) -> None:
    repo = _unique("raceimg")
    got = _together(clients, lambda c, i: c.api.tag("busybox", repo, f"t{i}"))
    assert all(x is True for x in got), got
    tags = clients[0].images.get("busybox").tags
    assert all(f"{repo}:t{i}" in tags for i in range(len(clients))), tags
    # every client removes the same tag: one untags it, the others are told it is gone
    gone = _together(clients, lambda c, i: c.api.remove_image(f"{repo}:t0"))
    assert sum(not isinstance(x, Exception) for x in gone) == 1, gone
    assert all(_status(e) == 404 for e in gone if isinstance(e, Exception)), gone
    # and each removes its own: all succeed, busybox itself stays
    rest = _together(clients, lambda c, i: i and c.api.remove_image(f"{repo}:t{i}"))
    assert all(not isinstance(x, Exception) for x in rest), rest
    assert "busybox:latest" in clients[0].images.get("busybox").tags
    assert not [t for t in clients[0].images.get("busybox").tags if t.startswith(repo)]


def test_one_host_port_one_container(clients: list[Any]) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    names = [_unique("racep") for _ in clients]

    def run(c: Any, i: int) -> Any:
        return c.containers.run(
            "busybox", ["sleep", "60"], name=names[i], detach=True,
            ports={"80/tcp": ("127.0.0.1", port)},
        )  # fmt: skip

    try:
        got = _together(clients, run)
        assert sum(not isinstance(x, Exception) for x in got) == 1, got
        for e in got:
            if isinstance(e, Exception):
                assert "port is already allocated" in str(e), e
    finally:
        _remove(clients[0], names)


def test_any_free_ports_are_distinct(clients: list[Any]) -> None:
    names = [_unique("raceany") for _ in clients]

    def run(c: Any, i: int) -> Any:
        return c.containers.run(
            "busybox", ["sleep", "60"], name=names[i], detach=True,
            ports={"80/tcp": None, "81/tcp": None},
        )  # fmt: skip

    try:
        got = _together(clients, run)
        assert all(not isinstance(x, Exception) for x in got), got
        ports = []
        for x in got:
            x.reload()
            for binds in x.attrs["NetworkSettings"]["Ports"].values():
                ports += [b["HostPort"] for b in binds]
        assert len(ports) == 2 * len(clients) and len(set(ports)) == len(ports), ports
    finally:
        _remove(clients[0], names)
