"""The overlay driver's pure parts: VNI, device names, the gateway bridge's addresses."""

from __future__ import annotations

import ipaddress

import pytest

from cove.errors import Conflict
from cove.network.overlay.driver import GatewayBridge, bridge_name, vni_for, vxlan_name


def test_vni_is_the_same_everywhere_and_in_range() -> None:
    a = vni_for("d232ec56bff4ce304880e4155d2fd8ce")
    assert a == vni_for("d232ec56bff4ce304880e4155d2fd8ce")
    assert 4096 <= a < 2**24
    assert a != vni_for("e232ec56bff4ce304880e4155d2fd8ce")


def test_device_names_fit_ifnamsiz() -> None:
    nid = "d232ec56bff4ce304880e4155d2fd8ce"
    assert len(bridge_name(nid)) <= 15 and len(vxlan_name(nid)) <= 15
    assert bridge_name(nid) != vxlan_name(nid)


def test_gateway_bridge_allocates_and_frees() -> None:
    gw = GatewayBridge("cgw", ipaddress.IPv4Network("172.30.0.0/30"))
    assert gw.gateway == "172.30.0.1"
    assert gw.allocate("e1") == "172.30.0.2"
    assert gw.allocate("e1") == "172.30.0.2"  # idempotent per endpoint
    with pytest.raises(Conflict):
        gw.allocate("e2")
    gw.taken.pop("e1")
    assert gw.allocate("e2") == "172.30.0.2"
