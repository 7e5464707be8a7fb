"""Edge module: links, addresses and routes through pyroute2 (netlink).

pyroute2 is imported on first use, so a daemon without networks and the CLI never load it.
Every function is synchronous and meant to run on the engine's single network thread (the
synchronous pyroute2 API keeps per-thread state).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from dataclasses import dataclass, replace
from typing import Any

from cove.errors import SystemError_
from cove.network.nsutil import in_netns

_ipr: Any = None


def _host() -> Any:
    global _ipr
    if _ipr is None:
        import logging

        from pyroute2 import IPRoute  # type: ignore[import-untyped]

        # pyroute2 logs every netlink message at debug level: far too much for coved --debug
        logging.getLogger("pyroute2").setLevel(logging.WARNING)
        _ipr = IPRoute()
    return _ipr


def _ns(netns: str) -> Any:
    from pyroute2 import IPRoute

    sock = in_netns(netns, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 0))
    return IPRoute(use_socket=sock)


def index(name: str) -> int | None:
    found = _host().link_lookup(ifname=name)
    return int(found[0]) if found else None


def _sysctl(path: str, value: str) -> None:
    with contextlib.suppress(OSError), open(path, "w") as f:
        f.write(value)


def ensure_bridge(
    name: str, gateway: str, prefix: int, mtu: int = 0, gateway6: str = "", prefix6: int = 0
) -> bool:
    """The bridge ``name`` up with ``gateway/prefix`` (and ``gateway6/prefix6``) on it; True
    if it was created here."""
    ipr = _host()
    created = False
    idx = index(name)
    if idx is None:
        try:
            ipr.link("add", ifname=name, kind="bridge")
        except Exception as e:
            if index(name) is None:
                raise SystemError_(f"failed to create bridge {name}: {e}") from None
        else:
            created = True
        idx = index(name)
    addrs = {a.get("address") for a in ipr.addr("dump", index=idx, family=socket.AF_INET)}
    if gateway and gateway not in addrs:
        with contextlib.suppress(Exception):  # EEXIST when another thread raced us
            ipr.addr(
                "add", index=idx, address=gateway, prefixlen=prefix, **broadcast(gateway, prefix)
            )
    if gateway6:
        _enable_ip6(name)
        _add_ip6(ipr, idx, gateway6, prefix6)
    if mtu:
        ipr.link("set", index=idx, mtu=mtu)
    ipr.link("set", index=idx, state="up")
    # 127.0.0.1:port -> container needs loopback sources routed onto the bridge
    _sysctl(f"/proc/sys/net/ipv4/conf/{name}/route_localnet", "1")
    return created


IFA_F_NODAD = 0x02


def _enable_ip6(ifname: str) -> None:
    """IPv6 on for this one interface of the calling thread's namespace (a host or a netns
    whose default is disable_ipv6=1); nothing host-wide is changed."""
    path = f"/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6"
    try:
        with open(path) as f:
            off = f.read().strip() == "1"
    except OSError:
        off = False
    if off:
        _sysctl(path, "0")


def _add_ip6(ipr: Any, idx: int | None, address: str, prefix: int) -> None:
    """``address/prefix`` on link ``idx`` of ``ipr``'s namespace, usable at once: no
    duplicate address detection (the address is ours, and DAD would hold it back for a
    second or more)."""
    have = {a.get("address") for a in ipr.addr("dump", index=idx, family=socket.AF_INET6)}
    if address not in have:
        try:
            ipr.addr("add", index=idx, address=address, prefixlen=prefix, flags=IFA_F_NODAD)
        except Exception as e:  # EEXIST when another thread raced us
            if getattr(e, "code", 0) != 17:
                raise


def bridge_address(name: str) -> tuple[str, int] | None:
    idx = index(name)
    if idx is None:
        return None
    for a in _host().addr("dump", index=idx, family=socket.AF_INET):
        return str(a.get("address")), int(a["prefixlen"])
    return None


def delete_link(name: str) -> None:
    idx = index(name)
    if idx is not None:
        with contextlib.suppress(Exception):
            _host().link("del", index=idx)


@dataclass(frozen=True)
class Addressing:
    """What a container interface gets: its addresses, default routes and MAC."""

    ip: str
    prefix: int
    gateway: str = ""
    mac: str = ""
    ip6: str = ""
    prefix6: int = 0
    gateway6: str = ""


def broadcast(ip: str, prefix: int) -> dict[str, str]:
    """The subnet's broadcast address for an IPv4 address, as the netlink library that
    dockerd uses fills it in (``ip addr`` shows ``brd``); none for /31 and /32."""
    if prefix >= 31:
        return {}
    net = ipaddress.IPv4Network(f"{ip}/{prefix}", strict=False)
    return {"broadcast": str(net.broadcast_address)}


def configure_inside(netns: str, ifname: str, tmpname: str, a: Addressing) -> None:
    """Loopback up, then ``tmpname`` renamed to ``ifname`` (when they differ), addressed, up,
    and the default routes through ``gateway`` (and ``gateway6``)."""
    ns = _ns(netns)
    try:
        ns.link("set", index=1, state="up")  # lo is always index 1 in a new namespace
        idx = ns.link_lookup(ifname=tmpname)[0]
        kw: dict[str, Any] = {"state": "up"}
        if ifname != tmpname:
            kw["ifname"] = ifname
        if a.mac:
            kw["address"] = a.mac
        ns.addr("add", index=idx, address=a.ip, prefixlen=a.prefix, **broadcast(a.ip, a.prefix))
        ns.link("set", index=idx, **kw)
        if a.ip6:
            # /proc/sys/net shows the namespace of the thread that opens it
            in_netns(netns, lambda: _enable_ip6(ifname))
            _add_ip6(ns, idx, a.ip6, a.prefix6)
        routes = [
            ("0.0.0.0/0", a.gateway, socket.AF_INET),
            ("::/0", a.gateway6, socket.AF_INET6),
        ]
        for dst, via, family in routes:
            if not via:
                continue
            try:
                ns.route("add", dst=dst, gateway=via, family=family)
            except Exception as e:  # a second network: the first one keeps the default route
                if getattr(e, "code", 0) != 17:
                    raise
    finally:
        ns.close()


def attach_veth(
    bridge: str, host_if: str, netns: str, ifname: str, a: Addressing, mtu: int = 0
) -> None:
    """A veth pair: ``host_if`` on ``bridge`` and up, its peer created as ``ifname`` right
    inside ``netns`` (no rename, no move).

    On failure the host end is deleted (which takes the peer with it)."""
    ipr = _host()
    br = index(bridge)
    if br is None:
        raise SystemError_(f"bridge {bridge} does not exist")
    fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        peer: dict[str, Any] = {"ifname": ifname, "net_ns_fd": fd}
        if a.mac:
            peer["address"] = a.mac
        kw: dict[str, Any] = {"ifname": host_if, "kind": "veth", "master": br, "state": "up"}
        if mtu:
            peer["mtu"] = kw["mtu"] = mtu
        try:
            ipr.link("add", **kw, peer=peer)
        except Exception as e:
            if getattr(e, "code", 0) != 17:
                raise
            # the same container's previous veth, still being torn down by the kernel
            delete_link(host_if)
            ipr.link("add", **kw, peer=peer)
    except Exception as e:
        raise SystemError_(f"failed to create veth {host_if}: {e}") from None
    finally:
        os.close(fd)
    try:
        configure_inside(netns, ifname, ifname, replace(a, mac=""))  # set at creation
    except BaseException:
        delete_link(host_if)
        raise


def attach_macvlan(parent: str, netns: str, ifname: str, a: Addressing) -> None:
    ipr = _host()
    pidx = index(parent)
    if pidx is None:
        raise SystemError_(f"invalid parent interface {parent}")
    tmp = "cm" + os.urandom(5).hex()
    fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        ipr.link("add", ifname=tmp, kind="macvlan", link=pidx, macvlan_mode="bridge")
        ipr.link("set", index=index(tmp), net_ns_fd=fd)
    except Exception as e:
        delete_link(tmp)
        raise SystemError_(f"failed to create macvlan on {parent}: {e}") from None
    finally:
        os.close(fd)
    configure_inside(netns, ifname, tmp, a)


def detach_inside(netns: str, ifname: str) -> None:
    """Delete ``ifname`` in the namespace (network disconnect of a running container)."""
    ns = _ns(netns)
    try:
        found = ns.link_lookup(ifname=ifname)
        if found:
            ns.link("del", index=found[0])
    finally:
        ns.close()


def ensure_vlan(parent: str) -> bool:
    """``eth1.10``: the 802.1q link named as a macvlan parent, created when missing."""
    if index(parent) is not None or "." not in parent:
        return False
    base, _, vid = parent.rpartition(".")
    bidx = index(base)
    if bidx is None:
        raise SystemError_(f"invalid parent interface {base}")
    ipr = _host()
    try:
        ipr.link("add", ifname=parent, kind="vlan", link=bidx, vlan_id=int(vid))
    except Exception as e:
        reason = getattr(e, "args", [None, str(e)])[-1]
        raise SystemError_(f"failed to create the 802.1q parent {parent}: {reason}") from None
    ipr.link("set", index=index(parent), state="up")
    return True


def host_routes() -> list[ipaddress.IPv4Network]:
    out = []
    for r in _host().route("dump", family=socket.AF_INET, table=254):
        dst = r.get("dst")
        if dst:
            out.append(ipaddress.IPv4Network(f"{dst}/{r['dst_len']}", strict=False))
    for a in _host().addr("dump", family=socket.AF_INET):
        net = ipaddress.IPv4Network(f"{a.get('address')}/{a['prefixlen']}", strict=False)
        if not net.is_loopback:
            out.append(net)
    return out


def set_ip_forward() -> None:
    _sysctl("/proc/sys/net/ipv4/ip_forward", "1")
