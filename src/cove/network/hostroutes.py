"""The host's routes and links as network creation checks them: subnets already routed
here are not handed to a new network, and a VLAN parent must exist."""

from __future__ import annotations

from cove.network import ipam


def missing_link(name: str) -> bool:
    from cove.network import netlink

    return netlink.index(name) is None


def host_routes() -> list[ipam.Net4]:
    from cove.network import netlink

    return netlink.host_routes()


def proc_routes() -> list[ipam.Subnet]:
    """The host's IPv4 routes from /proc (no netlink at daemon start)."""
    import ipaddress
    import socket
    import struct

    out: list[ipam.Subnet] = []
    try:
        with open("/proc/net/route") as f:
            next(f)
            for line in f:
                p = line.split()
                dst = socket.inet_ntoa(struct.pack("<I", int(p[1], 16)))
                mask = socket.inet_ntoa(struct.pack("<I", int(p[7], 16)))
                if dst != "0.0.0.0":
                    out.append(ipaddress.IPv4Network(f"{dst}/{mask}", strict=False))
    except (OSError, ValueError, StopIteration):
        pass
    return out
