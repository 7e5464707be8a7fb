"""The IPv4 broadcast address given with each address (``ip addr`` shows ``brd``)."""

from __future__ import annotations

from cove.network.netlink import broadcast


def test_broadcast_of_the_subnet_and_none_for_point_to_point() -> None:
    assert broadcast("172.18.0.2", 16) == {"broadcast": "172.18.255.255"}
    assert broadcast("10.231.5.10", 24) == {"broadcast": "10.231.5.255"}
    assert broadcast("10.0.0.1", 31) == {} and broadcast("10.0.0.1", 32) == {}
