"""Address management for one network, IPv4 and IPv6: pure, derived from what is in use.

No allocation state is persisted: the addresses in use are those of the endpoints the engine
records for running containers, so a crash can never leak an address and "release" is simply
dropping the endpoint.  A network has at most one pool per address family (``IPAM.Config``
lists the IPv4 one first, as dockerd does); automatic subnets are IPv4 only, like dockerd's
built-in pools.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cove.errors import Conflict, InvalidArgument

Addr = ipaddress.IPv4Address | ipaddress.IPv6Address
Subnet = ipaddress.IPv4Network | ipaddress.IPv6Network
Net4 = ipaddress.IPv4Network


def parse_subnet(text: str) -> Subnet:
    """A subnet of either family ("10.1.0.0/24", "fd00:1::/64"); host bits are dropped."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid subnet {text}") from None


def parse_subnet4(text: str) -> Net4:
    net = parse_subnet(text)
    if not isinstance(net, ipaddress.IPv4Network):
        raise InvalidArgument(f"invalid subnet {text}: an IPv4 subnet is needed")
    return net


def parse_ip(text: str) -> Addr:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise InvalidArgument(f"invalid IP address {text}") from None


def check_requested(ipv4: str, ipv6: str) -> None:
    """An endpoint's ``IPAMConfig`` addresses, checked as dockerd does when a container is
    created or connected (before any network is touched)."""
    for text, version in ((ipv4, 4), (ipv6, 6)):
        if not text:
            continue
        try:
            ok = ipaddress.ip_address(text).version == version
        except ValueError:
            ok = False
        if not ok:
            raise InvalidArgument(f"invalid IPv{version} address: {text}")


@dataclass(frozen=True)
class Pool:
    """One subnet of a network: its gateway and the range containers are given addresses
    from.  All three are of the same family."""

    subnet: Subnet
    gateway: Addr
    ip_range: Subnet | None = None

    @property
    def version(self) -> int:
        return self.subnet.version

    @classmethod
    def from_config(cls, subnet: str, gateway: str = "", ip_range: str = "") -> Pool:
        net = parse_subnet(subnet)
        if net.prefixlen > net.max_prefixlen - 2:
            raise InvalidArgument(f"subnet {subnet} is too small for containers")
        gw = parse_ip(gateway) if gateway else net.network_address + 1
        if gw.version != net.version or gw not in net:
            raise InvalidArgument(f"no matching subnet for gateway {gateway}")
        rng = parse_subnet(ip_range) if ip_range else None
        if rng is not None and (rng.version != net.version or not _within(rng, net)):
            raise InvalidArgument(f"no matching subnet for range {ip_range}")
        return cls(net, gw, rng)

    def _reserved(self, ip: Addr) -> bool:
        """The network address, and on IPv4 the broadcast address (IPv6 has none)."""
        if ip == self.subnet.network_address:
            return True
        return self.version == 4 and ip == self.subnet.broadcast_address

    def allocate(self, used: Iterable[str], requested: str = "", owner: str = "") -> Addr:
        """The requested address, or the lowest free one in the range (Docker's order).
        ``used`` may hold addresses of the other family: they are ignored."""
        taken: set[Addr] = {self.gateway}
        for u in used:
            if u:
                ip = ipaddress.ip_address(u)
                if ip.version == self.version:
                    taken.add(ip)
        if requested:
            ip = parse_ip(requested)
            if ip.version != self.version or ip not in self.subnet or self._reserved(ip):
                raise InvalidArgument(
                    f"Invalid address {ip}: It does not belong to any of this network's subnets"
                )
            if ip in taken:
                raise Conflict("Address already in use")
            return ip
        for ip in (self.ip_range or self.subnet).hosts():
            if ip not in taken and not self._reserved(ip):
                return ip
        raise Conflict(
            f"no available IPv{self.version} addresses on this network's address pools: "
            f"{owner or self.subnet}"
        )


def _within(a: Subnet, b: Subnet) -> bool:
    if isinstance(a, ipaddress.IPv4Network) and isinstance(b, ipaddress.IPv4Network):
        return a.subnet_of(b)
    if isinstance(a, ipaddress.IPv6Network) and isinstance(b, ipaddress.IPv6Network):
        return a.subnet_of(b)
    return False


def family_config(configs: Iterable[Mapping[str, Any]], version: int) -> Mapping[str, Any] | None:
    """The first ``IPAM.Config`` entry whose subnet is of ``version``."""
    for cfg in configs:
        text = str(cfg.get("Subnet") or "")
        if text:
            try:
                if ipaddress.ip_network(text, strict=False).version == version:
                    return cfg
            except ValueError:
                continue
    return None


def split_configs(
    configs: Iterable[Mapping[str, Any]],
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A create request's ``IPAM.Config`` entries as (IPv4, IPv6), the first of each family,
    empty fields dropped (AuxiliaryAddresses is kept as given); an entry with a gateway but
    no subnet counts as IPv4 (and fails there)."""
    v4: dict[str, Any] | None = None
    v6: dict[str, Any] | None = None
    for cfg in configs:
        entry = {str(k): v for k, v in cfg.items() if v}
        if not (entry.get("Subnet") or entry.get("Gateway")):
            continue
        if entry.get("Subnet") and parse_subnet(str(entry["Subnet"])).version == 6:
            v6 = v6 or entry
        else:
            v4 = v4 or entry
    return v4, v6


def overlaps(a: Subnet, others: Iterable[Subnet]) -> bool:
    """Whether ``a`` overlaps any of ``others`` (subnets of the other family never do)."""
    return any(a.version == o.version and a.overlaps(o) for o in others)


def pick_subnet(pools: list[tuple[str, int]], avoid: Iterable[Subnet]) -> Net4:
    """The first subnet of the address pools that overlaps no host route or other network
    (``default-address-pools``: base + size)."""
    avoid = list(avoid)
    for base, size in pools:
        b = parse_subnet4(base)
        if size < b.prefixlen:
            continue
        for cand in b.subnets(new_prefix=size):
            if not overlaps(cand, avoid):
                return cand
    raise Conflict(
        "could not find an available, non-overlapping IPv4 address pool among the defaults "
        "to assign to the network"
    )


# dockerd's words when --ipv6 comes without an IPv6 subnet: it has no default IPv6 pools
NO_IPV6_POOL = (
    "could not find an available, non-overlapping IPv6 address pool among the defaults "
    "to assign to the network"
)

# Docker's defaults: 172.17-31.0.0/16, then 192.168.x.0/20
DEFAULT_POOLS: list[tuple[str, int]] = [(f"172.{i}.0.0/16", 16) for i in range(17, 32)] + [
    ("192.168.0.0/16", 20)
]


def pools_from_config(cfg: list[dict[str, object]]) -> list[tuple[str, int]]:
    out = []
    for p in cfg:
        base = str(p.get("base") or "")
        size = int(str(p.get("size") or 24))
        parse_subnet4(base)
        out.append((base, size))
    return out or list(DEFAULT_POOLS)


def mac_for(ip: Addr) -> str:
    """Docker's stable MAC: 02:42 followed by the IPv4 address (for an IPv6-only endpoint,
    its last four bytes)."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ip.packed[-4:])
