"""The cluster store's key layout and a host's view of it (pure)."""

from __future__ import annotations

import json

from cove.network.cluster import store as S
from cove.network.cluster.etcd import Event, parse_url, prefix_end


def rec(ep: str, ip: str, vtep: str, net: str = "n1") -> S.EndpointRecord:
    return S.EndpointRecord(net, ep, "c" + ep, ("c" + ep, "abc"), ip, "02:42:00:00:00:0" + ep, vtep)


def test_prefix_end_and_url() -> None:
    assert prefix_end("/cove/") == "/cove0"
    assert parse_url("etcd://10.0.0.1:2379") == ("10.0.0.1", 2379)
    assert parse_url("etcd://store") == ("store", 2379)


def test_record_round_trip() -> None:
    r = rec("1", "10.0.0.2", "192.0.2.1")
    assert S.EndpointRecord.from_json(r.to_json()) == r


def test_view_folds_snapshot_and_events() -> None:
    v = S.View()
    net = {"Name": "appnet", "Id": "n1", "Driver": "overlay"}
    v.load(
        {
            S.net_key("n1"): json.dumps(net),
            S.ep_key("n1", "1"): rec("1", "10.0.0.2", "A").to_json(),
            S.ip_key("n1", "10.0.0.2"): "A",
            S.host_key("A"): "{}",
        }
    )
    assert v.networks["n1"]["Name"] == "appnet"
    assert v.ips["n1"] == {"10.0.0.2"}
    assert v.hosts == {"A"}
    assert v.apply(Event("PUT", S.ep_key("n1", "2"), rec("2", "10.0.0.3", "B").to_json())) == (
        "endpoint",
        "n1",
    )
    assert [e.ip for e in v.remote("n1", "A")] == ["10.0.0.3"]
    assert [e.ip for e in v.remote("n1", "B")] == ["10.0.0.2"]
    # a lease expiring shows as deletions
    assert v.apply(Event("DELETE", S.ep_key("n1", "2"), "")) == ("endpoint", "n1")
    assert v.remote("n1", "A") == []
    assert v.apply(Event("DELETE", S.net_key("n1"), "")) == ("network", "n1")
    assert "n1" not in v.networks


def test_view_ignores_garbage() -> None:
    v = S.View()
    assert v.apply(Event("PUT", S.ep_key("n1", "x"), "not json")) is None
    assert v.apply(Event("PUT", "/other/key", "1")) is None
    assert v.endpoints.get("n1", {}) == {}
