import pytest

from cove.errors import InvalidArgument
from cove.network import ports


def test_wanted_from_bindings_and_publish_all() -> None:
    hc = {
        "PortBindings": {
            "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
            "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
        },
        "PublishAllPorts": True,
    }
    got = ports.wanted(hc, {"80/tcp": {}, "443/tcp": {}})
    assert got == [
        ports.Mapping("udp", 53, "127.0.0.1", 5353),
        ports.Mapping("tcp", 80, "", 8080),
        ports.Mapping("tcp", 443, "", 0),
    ]


def test_empty_host_port_means_any() -> None:
    got = ports.wanted({"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": ""}]}}, None)
    assert got == [ports.Mapping("tcp", 80, "", 0)]


def test_bad_port() -> None:
    with pytest.raises(InvalidArgument):
        ports.split_port("99999/tcp")
    with pytest.raises(InvalidArgument):
        ports.split_port("80/icmp")


def test_inspect_and_summary_views() -> None:
    mapped = [ports.Mapping("tcp", 80, "", 8080)]
    view = ports.inspect_ports({"80/tcp": {}, "22/tcp": {}}, mapped)
    assert view == {"22/tcp": None, "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}
    assert ports.summary_ports(view) == [
        {"PrivatePort": 22, "Type": "tcp"},
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
    ]
    assert ports.from_inspect(view) == mapped
