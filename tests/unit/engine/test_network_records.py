"""Network and endpoint records (engine/networks/records.py): the files saved by earlier
versions load unchanged, and the API's view leaves cove's notes out."""

from __future__ import annotations

import json

import pytest

from cove.engine.networks.records import (
    empty_endpoint,
    endpoint_on,
    endpoint_request,
    endpoints,
    load_network,
    network_json,
)
from cove.engine.record import Container

# a network file as coved wrote it before the records were typed (a user-defined dual-stack
# bridge), byte for byte
SAVED = (
    '{"Name":"h16bnet","Id":"8656a88f99dedfc8e58857059ff93e9090e3fa7308ebc7b480656ece411c1ffe",'
    '"Created":"2026-12-07T04:28:06.606868351Z","Scope":"local","Driver":"bridge",'
    '"EnableIPv4":true,"EnableIPv6":true,"IPAM":{"Driver":"default","Options":null,"Config":'
    '[{"Subnet":"10.77.0.0/24","Gateway":"10.77.0.1"},{"Subnet":"fd00:77::/64","Gateway":'
    '"fd00:77::1"}]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":'
    '{"Network":""},"ConfigOnly":false,"Options":{},"Labels":{"a":"b"}}'
)


def test_a_saved_network_loads_unchanged() -> None:
    n = load_network(json.loads(SAVED))
    assert json.dumps(n, separators=(",", ":")) == SAVED
    assert n["IPAM"]["Config"][1]["Gateway"] == "fd00:77::1"
    assert network_json(n) == json.loads(SAVED)


def test_cove_notes_stay_out_of_the_api() -> None:
    raw = json.loads(SAVED)
    raw["Options"] = {"parent": "eth0.10"}
    raw["_cove"] = {"created_parent": True}
    n = load_network(raw)
    assert n.get("_cove") == {"created_parent": True}
    assert "_cove" not in network_json(n) and list(network_json(n)) == list(json.loads(SAVED))


def test_a_sparse_record_gets_dockers_defaults() -> None:
    n = load_network({"Name": "x", "Id": "1" * 64, "Driver": "bridge", "Created": "now",
                      "IPAM": {"Driver": "default", "Config": None}})  # fmt: skip
    assert n["IPAM"]["Config"] == [] and n["Options"] == {} and n["EnableIPv4"] is True
    assert n["ConfigFrom"] == {"Network": ""}
    for bad in ([], {"Name": "x"}, {"Name": "x", "Id": 5, "Driver": "bridge", "Created": ""}):
        with pytest.raises(ValueError):
            load_network(bad)


def test_endpoints_of_a_container() -> None:
    ep = empty_endpoint(["web"], {"IPv4Address": "10.0.0.9"})
    c = Container({"Id": "c" * 64, "NetworkSettings": {"Networks": {"n1": ep}}}, "/nonexistent")
    assert endpoint_on(c, "n1") is ep and endpoint_on(c, "n2") is None
    endpoints(c)["n1"]["IPAddress"] = "10.0.0.9"  # the record's own dict
    assert c.data["NetworkSettings"]["Networks"]["n1"]["IPAddress"] == "10.0.0.9"
    bare = Container({"Id": "d" * 64, "NetworkSettings": {"Networks": None}}, "/nonexistent")
    assert endpoints(bare) == {}
    assert endpoint_request(None) == {} and endpoint_request({"Aliases": ["a"]}) == {
        "Aliases": ["a"]
    }
