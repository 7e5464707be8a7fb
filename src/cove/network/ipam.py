"""IPv4 address management for one network: pure, derived from what is in use.

No allocation state is persisted: the addresses in use are those of the endpoints the engine
records for running containers, so a crash can never leak an address and "release" is simply
dropping the endpoint.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from cove.errors import Conflict, InvalidArgument

Net = ipaddress.IPv4Network


def parse_subnet(text: str) -> Net:
    try:
        return ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid subnet {text}") from None


def parse_ip(text: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise InvalidArgument(f"invalid IP address {text}") from None


@dataclass(frozen=True)
class Pool:
    subnet: Net
    gateway: ipaddress.IPv4Address
    ip_range: Net | None = None

    @classmethod
    def from_config(cls, subnet: str, gateway: str = "", ip_range: str = "") -> Pool:
        net = parse_subnet(subnet)
        if net.prefixlen > 30:
            raise InvalidArgument(f"subnet {subnet} is too small for containers")
        gw = parse_ip(gateway) if gateway else next(net.hosts())
        if gw not in net:
            raise InvalidArgument(f"no matching subnet for gateway {gateway}")
        rng = parse_subnet(ip_range) if ip_range else None
        if rng is not None and not rng.subnet_of(net):
            raise InvalidArgument(f"no matching subnet for range {ip_range}")
        return cls(net, gw, rng)

    def allocate(
        self, used: Iterable[str], requested: str = "", owner: str = ""
    ) -> ipaddress.IPv4Address:
        """The requested address, or the lowest free one in the range (Docker's order)."""
        taken = {ipaddress.IPv4Address(u) for u in used if u}
        taken.add(self.gateway)
        if requested:
            ip = parse_ip(requested)
            if ip not in self.subnet or ip in (
                self.subnet.network_address,
                self.subnet.broadcast_address,
            ):
                raise InvalidArgument(
                    f"Invalid address {ip}: It does not belong to any of this network's subnets"
                )
            if ip in taken:
                raise Conflict("Address already in use")
            return ip
        space = self.ip_range or self.subnet
        for ip in space.hosts():
            if ip not in taken and ip != self.subnet.broadcast_address:
                return ip
        raise Conflict(
            f"no available IPv4 addresses on this network's address pools: {owner or self.subnet}"
        )


def overlaps(a: Net, others: Iterable[Net]) -> bool:
    return any(a.overlaps(o) for o in others)


def pick_subnet(pools: list[tuple[str, int]], avoid: Iterable[Net]) -> Net:
    """The first subnet of the address pools that overlaps no host route or other network
    (``default-address-pools``: base + size)."""
    avoid = list(avoid)
    for base, size in pools:
        b = parse_subnet(base)
        if size < b.prefixlen:
            continue
        for cand in b.subnets(new_prefix=size):
            if not overlaps(cand, avoid):
                return cand
    raise Conflict(
        "could not find an available, non-overlapping IPv4 address pool among the defaults "
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
        parse_subnet(base)
        out.append((base, size))
    return out or list(DEFAULT_POOLS)


def mac_for(ip: ipaddress.IPv4Address) -> str:
    """Docker's stable MAC: 02:42 followed by the IPv4 address."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ip.packed)
