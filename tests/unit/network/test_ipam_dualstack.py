"""IPAM for both address families, and AAAA answers of the embedded DNS (pure)."""

import pytest

from cove.errors import Conflict, InvalidArgument
from cove.network import dnswire, ipam


def test_ipv6_pool_gives_the_lowest_free_address() -> None:
    pool = ipam.Pool.from_config("fd00:1::/64")
    assert pool.version == 6
    assert str(pool.gateway) == "fd00:1::1"
    assert str(pool.allocate([])) == "fd00:1::2"
    # addresses of the other family in the list do not count
    assert str(pool.allocate(["fd00:1::2", "10.0.0.3", ""])) == "fd00:1::3"


def test_ipv6_range_gateway_and_requested_address() -> None:
    # docker-py's case: a /96 range, the gateway at ::ffff
    pool = ipam.Pool.from_config("2001:389::/64", "2001:389::ffff", "2001:389::0/96")
    assert str(pool.allocate([])) == "2001:389::1"
    assert str(pool.allocate([], "2001:389::f00d")) == "2001:389::f00d"
    with pytest.raises(Conflict, match="Address already in use"):
        pool.allocate(["2001:389::f00d"], "2001:389::f00d")
    with pytest.raises(Conflict, match="Address already in use"):
        pool.allocate([], "2001:389::ffff")
    with pytest.raises(InvalidArgument, match="does not belong to any of this network's"):
        pool.allocate([], "2001:400::1")
    with pytest.raises(InvalidArgument, match="does not belong"):
        pool.allocate([], "10.0.0.1")  # the other family
    with pytest.raises(InvalidArgument, match="does not belong"):
        pool.allocate([], "2001:389::")  # the subnet-router anycast address


def test_ipv6_has_no_broadcast_but_ipv4_does() -> None:
    v6 = ipam.Pool.from_config("fd00:2::/126")
    assert str(v6.allocate(["fd00:2::2"])) == "fd00:2::3"
    v4 = ipam.Pool.from_config("10.1.0.0/30")
    with pytest.raises(Conflict, match="no available IPv4 addresses"):
        v4.allocate(["10.1.0.2"])
    with pytest.raises(Conflict, match="no available IPv6 addresses on this network's address"):
        v6.allocate(["fd00:2::2", "fd00:2::3"], owner="net6")


def test_mixed_families_are_refused_in_one_pool() -> None:
    with pytest.raises(InvalidArgument, match=r"no matching subnet for gateway 10\.0\.0\.1"):
        ipam.Pool.from_config("fd00:1::/64", "10.0.0.1")
    with pytest.raises(InvalidArgument, match="no matching subnet for range"):
        ipam.Pool.from_config("fd00:1::/64", "", "10.0.0.0/24")
    with pytest.raises(InvalidArgument, match="no matching subnet for range"):
        ipam.Pool.from_config("10.0.0.0/16", "", "fd00:1::/96")
    with pytest.raises(InvalidArgument, match="too small"):
        ipam.Pool.from_config("fd00:1::/127")
    with pytest.raises(InvalidArgument, match="invalid subnet 2001:zz::/64"):
        ipam.Pool.from_config("2001:zz::/64")


def test_split_configs_orders_ipv4_first() -> None:
    v4, v6 = ipam.split_configs(
        [{"Subnet": "fd00:1::/64", "Gateway": ""}, {"Subnet": "10.5.0.0/24", "IPRange": None}]
    )
    assert v4 == {"Subnet": "10.5.0.0/24"}
    assert v6 == {"Subnet": "fd00:1::/64"}
    assert ipam.split_configs([{"Subnet": "fd00:1::/64"}]) == (None, {"Subnet": "fd00:1::/64"})
    assert ipam.split_configs([]) == (None, None)
    aux = {"a": "10.5.0.9"}
    v4, _ = ipam.split_configs([{"Subnet": "10.5.0.0/24", "AuxiliaryAddresses": aux}])
    assert v4 is not None and v4["AuxiliaryAddresses"] == aux
    with pytest.raises(InvalidArgument):
        ipam.split_configs([{"Subnet": "nonsense"}])


def test_family_config_and_overlaps() -> None:
    cfgs = [{"Subnet": "10.5.0.0/24"}, {"Subnet": "fd00:1::/64", "Gateway": "fd00:1::1"}]
    found = ipam.family_config(cfgs, 6)
    assert found is not None and found["Gateway"] == "fd00:1::1"
    assert ipam.family_config(cfgs[:1], 6) is None
    everything4 = ipam.parse_subnet("0.0.0.0/0")
    assert not ipam.overlaps(ipam.parse_subnet("fd00:1::/64"), [everything4])
    assert ipam.overlaps(ipam.parse_subnet("fd00:1::/80"), [ipam.parse_subnet("fd00::/16")])


def test_requested_addresses_checked_as_dockerd_does() -> None:
    ipam.check_requested("10.0.0.2", "fd00::2")
    ipam.check_requested("", "")
    for v4, v6, words in [
        ("", "zzz", "invalid IPv6 address: zzz"),
        ("", "10.0.0.2", "invalid IPv6 address: 10.0.0.2"),
        ("fd00::2", "", "invalid IPv4 address: fd00::2"),
    ]:
        with pytest.raises(InvalidArgument) as e:
            ipam.check_requested(v4, v6)
        assert e.value.message == words


def test_automatic_pools_stay_ipv4() -> None:
    with pytest.raises(InvalidArgument):
        ipam.pools_from_config([{"base": "fd00::/48", "size": 64}])
    taken = [ipam.parse_subnet("fd00::/8"), ipam.parse_subnet("172.17.0.0/16")]
    assert str(ipam.pick_subnet(ipam.DEFAULT_POOLS, taken)) == "172.18.0.0/16"
    assert ipam.mac_for(ipam.parse_ip("fd00::a:b0c:d")) == "02:42:0b:0c:00:0d"


def _ask(qtype: int, ips: list[str]) -> tuple[int, list[str]]:
    query = dnswire.build_query(7, "api", qtype)
    q = dnswire.parse_query(query)
    assert q is not None and q.qtype == qtype
    return dnswire.answers_of(dnswire.answer(query, q, ips))


def test_dns_answers_a_and_aaaa_from_one_list() -> None:
    both = ["10.5.0.2", "fd00:1::2"]
    assert _ask(dnswire.TYPE_A, both) == (dnswire.NOERROR, ["10.5.0.2"])
    assert _ask(dnswire.TYPE_AAAA, both) == (dnswire.NOERROR, ["fd00:1::2"])
    # a name with IPv4 only: AAAA gets an empty NOERROR answer (not NXDOMAIN)
    assert _ask(dnswire.TYPE_AAAA, ["10.5.0.2"]) == (dnswire.NOERROR, [])


def test_daemon_ipv6_options() -> None:
    from cove.daemon.config import load
    from cove.daemon.main import _parser, flag_settings

    args = _parser().parse_args(["--ipv6", "--fixed-cidr-v6", "fd00:cafe::/64"])
    got = flag_settings(args)
    assert got == {"ipv6": True, "fixed-cidr-v6": "fd00:cafe::/64"}
    cfg = load("/dev/null", got)
    assert cfg.ipv6 is True and cfg.fixed_cidr_v6 == "fd00:cafe::/64"
