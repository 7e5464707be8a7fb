"""The firewall as data: a ``Plan`` of what cove's networks need, rendered to one nft script.

The script replaces cove's own table in a single transaction (``nft -f`` applies a file
atomically), so a reader never sees half the rules, and other tables (dockerd's, podman's,
the admin's) are never touched.  Pure: ``nft.apply`` is the edge that runs it.

Published ports are kernel DNAT (prerouting for traffic arriving from outside or from
containers, output for the host's own connections, 127.0.0.1 included), so no userland
proxy sits in the data path.  Connections from 127.0.0.0/8 are masqueraded to the bridge
address on their way into the bridge (the bridge has ``route_localnet``), and a container
reaching a published port of a container on its own bridge (hairpin) is masqueraded too, so
replies come back through the host and are un-NATed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BridgeRules:
    ifname: str
    subnet: str
    masquerade: bool = True
    internal: bool = False
    icc: bool = True


@dataclass(frozen=True)
class Published:
    proto: str
    host_ip: str  # "" = every local address
    host_port: int
    ip: str
    port: int


@dataclass(frozen=True)
class LinkAllow:
    """With icc off, ``--link``: src may open ``proto/port`` on dst (and get replies)."""

    ifname: str
    src: str
    dst: str
    proto: str
    port: int


@dataclass
class Plan:
    table: str
    bridges: list[BridgeRules] = field(default_factory=list)
    published: list[Published] = field(default_factory=list)
    links: list[LinkAllow] = field(default_factory=list)
    notrack: NoTrack | None = None


@dataclass(frozen=True)
class NoTrack:
    """Overlay traffic that needs no connection tracking: the VXLAN packets between this
    host's VTEP and the others (neither NATed nor filtered by state)."""

    vtep: str
    port: int


def _q(name: str) -> str:
    return '"' + name.replace('"', "") + '"'


def _dnat(p: Published) -> str:
    where = f"ip daddr {p.host_ip} " if p.host_ip and p.host_ip != "0.0.0.0" else ""
    return f"    {where}{p.proto} dport {p.host_port} dnat to {p.ip}:{p.port}"


def render(plan: Plan) -> str:
    """The nft script that makes cove's table exactly ``plan`` (created if missing)."""
    t = plan.table
    lines = [f"table ip {t}", f"delete table ip {t}", f"table ip {t} {{"]
    lines += [
        "  chain published {",
        *[_dnat(p) for p in sorted(plan.published, key=_pub_order)],
        "  }",
        "  chain prerouting {",
        "    type nat hook prerouting priority -100; policy accept;",
        "    fib daddr type local jump published",
        "  }",
        "  chain output {",
        "    type nat hook output priority -100; policy accept;",
        "    fib daddr type local jump published",
        "  }",
        "  chain postrouting {",
        "    type nat hook postrouting priority 100; policy accept;",
    ]
    for b in plan.bridges:
        name = _q(b.ifname)
        lines.append(f"    oifname {name} ip saddr 127.0.0.0/8 masquerade")
        lines.append(f"    oifname {name} ip saddr {b.subnet} ct status dnat masquerade")
        if b.masquerade and not b.internal:
            lines.append(f"    ip saddr {b.subnet} oifname != {name} masquerade")
    lines += [
        "  }",
        "  chain forward {",
        "    type filter hook forward priority 0; policy accept;",
    ]
    names = [b.ifname for b in plan.bridges]
    for b in plan.bridges:
        name = _q(b.ifname)
        if b.internal:
            lines.append(f"    iifname {name} oifname != {name} drop")
            lines.append(f"    oifname {name} iifname != {name} drop")
        others = [_q(n) for n in names if n != b.ifname]
        if others:
            # bridges are isolated from each other, as Docker's networks are
            lines.append(f"    iifname {name} oifname {{ {', '.join(others)} }} drop")
    lines += ["  }", *_notrack(plan), "}", *_icc(plan)]
    return "\n".join(lines) + "\n"


def _icc(plan: Plan) -> list[str]:
    """``icc`` off: IPv4 between two containers of one bridge is dropped, except what a
    ``--link`` allows (the linked port, and replies from it: stateless, as dockerd's rules).

    Traffic inside a bridge is switched, not routed, so the ``ip`` family's forward hook sees
    it only when br_netfilter is loaded with ``bridge-nf-call-iptables`` on, which a stock
    kernel does not do by itself; the ``bridge`` family sees it always.  The table exists
    only while a bridge has icc off (the first two lines remove an older one)."""
    t = plan.table
    lines = [f"table bridge {t}", f"delete table bridge {t}"]
    closed = [b for b in plan.bridges if not b.icc]
    if not closed:
        return lines
    lines += [
        f"table bridge {t} {{",
        "  chain forward {",
        "    type filter hook forward priority 0; policy accept;",
    ]
    for b in closed:
        # both ends in the bridge's subnet: switched inside that bridge (subnets of cove's
        # networks never overlap; ``meta ibrname`` would need nft_meta_bridge, often absent)
        br = f"ether type ip ip saddr {b.subnet} ip daddr {b.subnet}"
        for lk in plan.links:
            if lk.ifname == b.ifname:
                ips = f"ether type ip ip saddr {lk.src} ip daddr {lk.dst}"
                back = f"ether type ip ip saddr {lk.dst} ip daddr {lk.src}"
                lines.append(f"    {ips} {lk.proto} dport {lk.port} accept")
                lines.append(f"    {back} {lk.proto} sport {lk.port} accept")
        lines.append(f"    {br} drop")
    return [*lines, "  }", "}"]


def _notrack(plan: Plan) -> list[str]:
    nt = plan.notrack
    if nt is None:
        return []
    if any(p.proto == "udp" and p.host_port == nt.port for p in plan.published):
        return []  # a published port needs conntrack for its DNAT: leave it all tracked
    vx = f"udp dport {nt.port}"
    return [
        "  chain notrack_prerouting {",
        "    type filter hook prerouting priority raw; policy accept;",
        f"    ip daddr {nt.vtep} {vx} notrack",
        "  }",
        "  chain notrack_output {",
        "    type filter hook output priority raw; policy accept;",
        f"    ip saddr {nt.vtep} ip daddr != {nt.vtep} {vx} notrack",
        "  }",
    ]


def _pub_order(p: Published) -> tuple[int, str, str]:
    return (p.host_port, p.proto, p.host_ip)


def delete_script(table: str) -> str:
    return "".join(f"table {fam} {table}\ndelete table {fam} {table}\n" for fam in ("ip", "bridge"))
