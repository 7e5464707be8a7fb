"""Edge module: the overlay's kernel objects through pyroute2 (same thread rules as
``cove.network.netlink``).

Per overlay network and host: a bridge (no address: containers leave through the gateway
bridge) and a VXLAN device enslaved to it, with learning off and ARP proxying on, so the
kernel answers a container's ARP from the neighbour table and unicasts frames to the VTEP
the forwarding table names.  Both tables are filled from the cluster store, so nothing is
ever flooded over the underlay.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from cove.errors import SystemError_
from cove.network import netlink

VXLAN_PORT = 4789  # IANA's, as Docker uses
NUD_PERMANENT = 0x80


def _ipr() -> Any:
    return netlink._host()


def underlay_mtu(vtep: str) -> int:
    """The MTU of the link holding ``vtep`` (1500 when it cannot be found)."""
    ipr = _ipr()
    for a in ipr.addr("dump", family=socket.AF_INET):
        if a.get("address") == vtep:
            for link in ipr.link("get", index=a["index"]):
                return int(link.get("mtu") or 1500)
    return 1500


def address_of(ifname: str) -> str | None:
    idx = netlink.index(ifname)
    if idx is None:
        return None
    for a in _ipr().addr("dump", index=idx, family=socket.AF_INET):
        return str(a.get("address"))
    return None


def ensure(bridge: str, vxlan: str, vni: int, vtep: str, mtu: int) -> None:
    """The bridge and its VXLAN device, up; nothing left behind on failure."""
    ipr = _ipr()
    made_bridge = netlink.index(bridge) is None
    try:
        if made_bridge:
            # frames switched inside the overlay skip the host's IP firewall hooks
            # (br_netfilter): nothing in cove's table filters them, so conntrack and the
            # forward chain need not see every bridged frame
            ipr.link("add", ifname=bridge, kind="bridge", br_nf_call_iptables=0)
        br = netlink.index(bridge)
        ipr.link("set", index=br, mtu=mtu)
        if netlink.index(vxlan) is None:
            ipr.link(
                "add",
                ifname=vxlan,
                kind="vxlan",
                vxlan_id=vni,
                vxlan_local=vtep,
                vxlan_port=VXLAN_PORT,
                vxlan_learning=0,
                vxlan_proxy=1,
            )
        vx = netlink.index(vxlan)
        ipr.link("set", index=vx, mtu=mtu, master=br)
        ipr.link("set", index=vx, state="up")
        ipr.link("set", index=br, state="up")
    except Exception as e:
        netlink.delete_link(vxlan)
        if made_bridge:
            netlink.delete_link(bridge)
        raise SystemError_(f"failed to create the overlay devices {bridge}/{vxlan}: {e}") from None


def remove(bridge: str, vxlan: str) -> None:
    netlink.delete_link(vxlan)
    netlink.delete_link(bridge)


def add_remote(vxlan: str, mac: str, ip: str, vtep: str) -> None:
    """Frames for ``mac`` go to ``vtep``; ARP for ``ip`` is answered with ``mac``."""
    idx = netlink.index(vxlan)
    if idx is None:
        return
    ipr = _ipr()
    with contextlib.suppress(Exception):  # EEXIST: already programmed
        ipr.fdb("append", ifindex=idx, lladdr=mac, dst=vtep)
    ipr.neigh("replace", dst=ip, lladdr=mac, ifindex=idx, state=NUD_PERMANENT)


def quick_arp_retry(netns: str, ifname: str) -> None:
    """A container's ARP retry on ``ifname`` after 100 ms instead of 1 s: a peer that
    started on another host a few milliseconds ago may not be in our neighbour table yet
    (the watch programs it right after), and its first packets should not wait a second."""
    from cove.network.nsutil import in_netns

    def write() -> None:
        with open(f"/proc/sys/net/ipv4/neigh/{ifname}/retrans_time_ms", "w") as f:
            f.write("100")

    with contextlib.suppress(OSError):
        in_netns(netns, write)


def del_remote(vxlan: str, mac: str, ip: str, vtep: str) -> None:
    idx = netlink.index(vxlan)
    if idx is None:
        return
    ipr = _ipr()
    with contextlib.suppress(Exception):
        ipr.fdb("del", ifindex=idx, lladdr=mac, dst=vtep)
    with contextlib.suppress(Exception):
        ipr.neigh("del", dst=ip, lladdr=mac, ifindex=idx)
