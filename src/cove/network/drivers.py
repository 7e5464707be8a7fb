"""The local drivers: null (``none``), host, bridge and macvlan.

``container:<id>`` needs no driver: the runtime joins the other container's namespace.
"""

from __future__ import annotations

from cove.network import netlink
from cove.network.base import Driver, Endpoint, NetConfig


class NullDriver:
    """``none`` and ``host``: nothing to create, the namespace is loopback-only or the
    host's own."""

    def __init__(self, name: str) -> None:
        self.name = name

    def create(self, net: NetConfig) -> None:
        pass

    def delete(self, net: NetConfig) -> None:
        pass

    def join(self, net: NetConfig, ep: Endpoint, netns: str) -> None:
        pass

    def leave(self, net: NetConfig, ep: Endpoint, netns: str | None) -> None:
        pass


class BridgeDriver:
    name = "bridge"

    def __init__(self, ip_forward: bool = True) -> None:
        self.ip_forward = ip_forward
        self.created: set[str] = set()  # bridges made by this daemon (removed with them)

    def create(self, net: NetConfig) -> None:
        mtu = int(net.options.get("com.docker.network.driver.mtu") or 0)
        if netlink.ensure_bridge(
            net.ifname, net.gateway, net.prefix, mtu, net.gateway6, net.prefix6
        ):
            self.created.add(net.ifname)
        if self.ip_forward:
            netlink.set_ip_forward()

    def delete(self, net: NetConfig) -> None:
        netlink.delete_link(net.ifname)

    def join(self, net: NetConfig, ep: Endpoint, netns: str) -> None:
        # with IPv6 the bridge is checked every time: one made before ``ipv6`` was switched
        # on for the default bridge lacks the IPv6 gateway
        if net.gateway6 or netlink.index(net.ifname) is None:
            self.create(net)
        mtu = int(net.options.get("com.docker.network.driver.mtu") or 0)
        netlink.attach_veth(net.ifname, ep.host_if, netns, ep.ifname, addressing(ep), mtu)

    def leave(self, net: NetConfig, ep: Endpoint, netns: str | None) -> None:
        netlink.delete_link(ep.host_if)


class MacvlanDriver:
    name = "macvlan"

    def create(self, net: NetConfig) -> None:
        parent = net.ifname
        if not parent:
            return  # Docker then uses a dummy link; this host has no dummy module
        if netlink.ensure_vlan(parent):
            return
        if netlink.index(parent) is None:
            from cove.errors import InvalidArgument

            raise InvalidArgument(f"-o parent interface was not found on the host: {parent}")

    def delete(self, net: NetConfig) -> None:
        # an 802.1q parent (eth1.10) is removed with the network, as Docker does
        if "." in net.ifname and net.options.get("cove.created_parent") == "true":
            netlink.delete_link(net.ifname)

    def join(self, net: NetConfig, ep: Endpoint, netns: str) -> None:
        netlink.attach_macvlan(net.ifname, netns, ep.ifname, addressing(ep))

    def leave(self, net: NetConfig, ep: Endpoint, netns: str | None) -> None:
        if netns is not None:
            netlink.detach_inside(netns, ep.ifname)


def addressing(ep: Endpoint) -> netlink.Addressing:
    return netlink.Addressing(ep.ip, ep.prefix, ep.gateway, ep.mac, ep.ip6, ep.prefix6, ep.gateway6)


def all_drivers(ip_forward: bool) -> dict[str, Driver]:
    return {
        "null": NullDriver("null"),
        "host": NullDriver("host"),
        "bridge": BridgeDriver(ip_forward),
        "macvlan": MacvlanDriver(),
    }
