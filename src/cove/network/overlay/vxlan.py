"""Edge module: the overlay's kernel objects through pyroute2 (same thread rules as
``cove.network.netlink``).

Per overlay network and host, in a network namespace of the network's own (``netns``): a
VXLAN device with learning off and ARP proxying on, so the kernel answers a container's ARP
from the neighbour table and unicasts frames to the VTEP the forwarding table names.  Both
tables are filled from the cluster store, so nothing is ever flooded over the underlay.
The VXLAN device is made in the host's namespace and then moved in: its UDP socket stays in
the namespace it was made in, on the underlay.  Each container's interface is a macvlan
(bridge mode) of the VXLAN device, moved into the container: one hop less than a veth on a
bridge (measured ~10% more throughput), and containers of one host still reach each other
through the macvlan's own switching.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any

from cove.errors import SystemError_
from cove.network import netlink
from cove.network.overlay import netns

VXLAN_PORT = 4789  # IANA's, as Docker uses
NUD_PERMANENT = 0x80
EEXIST = 17


def _ipr() -> Any:
    return netlink._host()


@contextlib.contextmanager
def _inside(nspath: str) -> Any:
    ns = netlink._ns(nspath)
    try:
        yield ns
    finally:
        ns.close()


def _lookup(ns: Any, name: str) -> int | None:
    found = ns.link_lookup(ifname=name)
    return int(found[0]) if found else None


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


def ensure(nspath: str, bridge: str, vxlan: str, vni: int, vtep: str, mtu: int) -> None:
    """The namespace and its VXLAN device, up; nothing left behind on failure.  ``bridge``
    is the name an older layout used (a bridge in the namespace): removed when found."""
    made_ns = not netns.pinned(nspath)
    if made_ns:
        # devices of the same names in the host's namespace are an older cove's layout
        netlink.delete_link(vxlan)
        netlink.delete_link(bridge)
    netns.create(nspath)
    try:
        with _inside(nspath) as ns:
            _delete(ns, bridge)  # a macvlan cannot sit on a bridge port
            if _lookup(ns, vxlan) is None:
                netlink.delete_link(vxlan)  # left in the host by an interrupted ensure
                ipr = _ipr()
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
                fd = os.open(nspath, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    ipr.link("set", index=netlink.index(vxlan), net_ns_fd=fd)
                finally:
                    os.close(fd)
            vx = _lookup(ns, vxlan)
            ns.link("set", index=vx, mtu=mtu)
            ns.link("set", index=vx, state="up")
    except Exception as e:
        netlink.delete_link(vxlan)
        if made_ns:
            netns.remove(nspath)
        raise SystemError_(f"failed to create the overlay device {vxlan}: {e}") from None


def remove(nspath: str, bridge: str, vxlan: str) -> None:
    netns.remove(nspath)  # takes the VXLAN device with it
    netlink.delete_link(vxlan)
    netlink.delete_link(bridge)


def exists(nspath: str, vxlan: str) -> bool:
    if not netns.pinned(nspath):
        return False
    with _inside(nspath) as ns:
        return _lookup(ns, vxlan) is not None


def attach(
    nspath: str, vxlan: str, target: str, ifname: str, ip: str, prefix: int, mac: str
) -> None:
    """A macvlan of the network's VXLAN device, moved into the container's namespace
    ``target`` as ``ifname`` (addressed, up, no default route).  On failure nothing is left
    (a macvlan that reached the container goes with a later ``detach`` or its namespace)."""
    tmp = "co" + os.urandom(5).hex()
    fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with _inside(nspath) as ns:
            vx = _lookup(ns, vxlan)
            if vx is None:
                raise SystemError_(f"overlay device {vxlan} does not exist")
            ns.link("add", ifname=tmp, kind="macvlan", link=vx, macvlan_mode="bridge")
            try:
                ns.link("set", index=_lookup(ns, tmp), net_ns_fd=fd)
            except Exception:
                _delete(ns, tmp)
                raise
    except SystemError_:
        raise
    except Exception as e:
        raise SystemError_(f"failed to create the overlay interface for {ifname}: {e}") from None
    finally:
        os.close(fd)
    try:
        netlink.configure_inside(target, ifname, tmp, netlink.Addressing(ip, prefix, mac=mac))
    except BaseException:
        netlink.detach_inside(target, tmp)
        netlink.detach_inside(target, ifname)
        raise


def _delete(ns: Any, name: str) -> None:
    idx = _lookup(ns, name)
    if idx is not None:
        with contextlib.suppress(Exception):
            ns.link("del", index=idx)


def add_remote(nspath: str, vxlan: str, mac: str, ip: str, vtep: str) -> None:
    """Frames for ``mac`` go to ``vtep``; ARP for ``ip`` is answered with ``mac``."""
    with _inside(nspath) as ns:
        idx = _lookup(ns, vxlan)
        if idx is None:
            return
        with contextlib.suppress(Exception):  # EEXIST: already programmed
            ns.fdb("append", ifindex=idx, lladdr=mac, dst=vtep)
        ns.neigh("replace", dst=ip, lladdr=mac, ifindex=idx, state=NUD_PERMANENT)


def quick_arp_retry(target: str, ifname: str) -> None:
    """A container's ARP retry on ``ifname`` after 100 ms instead of 1 s: a peer that
    started on another host a few milliseconds ago may not be in our neighbour table yet
    (the watch programs it right after), and its first packets should not wait a second."""
    from cove.network.nsutil import in_netns

    def write() -> None:
        with open(f"/proc/sys/net/ipv4/neigh/{ifname}/retrans_time_ms", "w") as f:
            f.write("100")

    with contextlib.suppress(OSError):
        in_netns(target, write)


def del_remote(nspath: str, vxlan: str, mac: str, ip: str, vtep: str) -> None:
    if not netns.pinned(nspath):
        return
    with _inside(nspath) as ns:
        idx = _lookup(ns, vxlan)
        if idx is None:
            return
        with contextlib.suppress(Exception):
            ns.fdb("del", ifindex=idx, lladdr=mac, dst=vtep)
        with contextlib.suppress(Exception):
            ns.neigh("del", dst=ip, lladdr=mac, ifindex=idx)
