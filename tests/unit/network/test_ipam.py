import pytest

from cove.errors import Conflict, InvalidArgument
from cove.network import ipam


def test_first_free_address_skips_gateway() -> None:
    pool = ipam.Pool.from_config("10.1.0.0/24")
    assert str(pool.gateway) == "10.1.0.1"
    assert str(pool.allocate([])) == "10.1.0.2"
    assert str(pool.allocate(["10.1.0.2"])) == "10.1.0.3"


def test_ip_range_and_requested_address() -> None:
    pool = ipam.Pool.from_config("10.1.0.0/16", "10.1.0.254", "10.1.5.0/24")
    assert str(pool.allocate([])) == "10.1.5.1"
    assert str(pool.allocate([], "10.1.9.9")) == "10.1.9.9"
    with pytest.raises(Conflict):
        pool.allocate(["10.1.9.9"], "10.1.9.9")
    with pytest.raises(InvalidArgument):
        pool.allocate([], "10.2.0.1")


def test_exhausted_pool() -> None:
    pool = ipam.Pool.from_config("10.1.0.0/30")
    assert str(pool.allocate([])) == "10.1.0.2"
    with pytest.raises(Conflict, match="no available IPv4 addresses"):
        pool.allocate(["10.1.0.2"])


def test_bad_gateway_and_subnet() -> None:
    with pytest.raises(InvalidArgument):
        ipam.Pool.from_config("10.1.0.0/24", "10.2.0.1")
    with pytest.raises(InvalidArgument):
        ipam.Pool.from_config("nonsense")


def test_pick_subnet_avoids_routes() -> None:
    taken = [ipam.parse_subnet("172.17.0.0/16"), ipam.parse_subnet("172.18.5.0/24")]
    assert str(ipam.pick_subnet(ipam.DEFAULT_POOLS, taken)) == "172.19.0.0/16"
    pools = ipam.pools_from_config([{"base": "10.50.0.0/16", "size": 24}])
    assert str(ipam.pick_subnet(pools, [])) == "10.50.0.0/24"


def test_mac_follows_address() -> None:
    assert ipam.mac_for(ipam.parse_ip("172.17.0.2")) == "02:42:ac:11:00:02"
