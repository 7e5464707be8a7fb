"""What a network driver is: create/delete a network, join/leave a container's namespace.

Drivers see plain data (``NetConfig``, ``Endpoint``); address allocation, the firewall plan
and DNS records are the engine's, so every driver stays a thin layer over netlink.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cove.network.portmap import HostForwarder


@dataclass(frozen=True)
class NetConfig:
    id: str
    name: str
    driver: str
    subnet: str  # "" for null/host
    gateway: str
    options: dict[str, str] = field(default_factory=dict)
    internal: bool = False
    subnet6: str = ""  # only when the network has EnableIPv6
    gateway6: str = ""

    @property
    def prefix(self) -> int:
        return int(self.subnet.partition("/")[2] or 0)

    @property
    def prefix6(self) -> int:
        return int(self.subnet6.partition("/")[2] or 0)

    @property
    def ifname(self) -> str:
        """The bridge (or the macvlan parent) on the host."""
        if self.driver == "macvlan":
            return self.options.get("parent", "")
        return self.options.get("com.docker.network.bridge.name") or "br-" + self.id[:12]


@dataclass(frozen=True)
class Endpoint:
    id: str
    ifname: str  # inside the container: eth0, eth1...
    host_if: str  # the host end of a veth ("" for macvlan)
    ip: str
    prefix: int
    gateway: str
    mac: str
    ip6: str = ""  # "" on a network without IPv6
    prefix6: int = 0
    gateway6: str = ""


class Driver(Protocol):
    name: str

    def create(self, net: NetConfig) -> None:
        """Make the network exist on the host; leaves nothing behind when it fails."""

    def delete(self, net: NetConfig) -> None:
        """Undo ``create``; idempotent."""

    def join(self, net: NetConfig, ep: Endpoint, netns: str) -> None:
        """Give the namespace its interface; leaves nothing behind when it fails."""

    def leave(self, net: NetConfig, ep: Endpoint, netns: str | None) -> None:
        """Remove the interface (``netns`` None: the namespace is already gone)."""


@dataclass
class NetOptions:
    """The daemon's network settings (daemon.json keys of the same names)."""

    iptables: bool = True
    ip_forward: bool = True
    ip_masq: bool = True
    icc: bool = True
    bip: str = ""
    bridge: str = ""  # "" = cove0; "none" = no default bridge
    fixed_cidr: str = ""
    ipv6: bool = False  # the default bridge's EnableIPv6
    fixed_cidr_v6: str = ""  # and its IPv6 subnet
    default_address_pools: list[dict[str, object]] = field(default_factory=list)
    userland_proxy: bool = False  # accepted; ports are always kernel NAT
    local_port_mss: bool = True  # the bridge's MSS for host sockets to -p ports (portmss.py)
    mtu: int = 0
    cluster_store: str = ""  # etcd://host:port: overlay networks (cove.network.cluster)
    cluster_advertise: str = ""  # this host's VTEP: an address or an interface name
    cluster_store_opts: dict[str, str] = field(default_factory=dict)
    # rootless mode (daemon/rootless.py): host ports go through the user-mode network
    host_forwarder: HostForwarder | None = None
    rootless: bool = False
    cgroup_controllers: tuple[str, ...] = ()  # delegated to it (runtime/rootless_cgroup.py)
