"""Edge module: the overlay's kernel objects through pyroute2 (same thread rules as
``cove.network.netlink``).

Per overlay network and host, in a network namespace of the network's own (``netns``): a
bridge and a VXLAN device enslaved to it, with learning off and ARP proxying on, so the
kernel answers a container's ARP from the neighbour table and unicasts frames to the VTEP
the forwarding table names.  Both tables are filled from the cluster store, so nothing is
ever flooded over the underlay.  The VXLAN device is made in the host's namespace and then
moved in: its UDP socket stays in the namespace it was made in, on the underlay.  Each
container's host-side veth sits on the bridge in there too.
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
    """The namespace, its bridge and VXLAN device, up; nothing left behind on failure."""
    made_ns = not netns.pinned(nspath)
    if made_ns:
        # devices of the same names in the host's namespace are an older cove's layout
        netlink.delete_link(vxlan)
        netlink.delete_link(bridge)
    netns.create(nspath)
    try:
        with _inside(nspath) as ns:
            if _lookup(ns, bridge) is None:
                ns.link("add", ifname=bridge, kind="bridge")
            br = _lookup(ns, bridge)
            ns.link("set", index=br, mtu=mtu)
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
            ns.link("set", index=vx, mtu=mtu, master=br)
            ns.link("set", index=vx, state="up")
            ns.link("set", index=br, state="up")
    except Exception as e:
        netlink.delete_link(vxlan)
        if made_ns:
            netns.remove(nspath)
        raise SystemError_(f"failed to create the overlay devices {bridge}/{vxlan}: {e}") from None


def remove(nspath: str, bridge: str, vxlan: str) -> None:
    netns.remove(nspath)  # takes the bridge, the VXLAN device and the veths with it
    netlink.delete_link(vxlan)
    netlink.delete_link(bridge)


def exists(nspath: str, vxlan: str) -> bool:
    if not netns.pinned(nspath):
        return False
    with _inside(nspath) as ns:
        return _lookup(ns, vxlan) is not None


def attach(
    nspath: str, bridge: str, host_if: str, target: str, ifname: str, ip: str, prefix: int,
    mac: str, mtu: int,
) -> None:  # fmt: skip
    """A veth pair: ``host_if`` on the overlay's bridge, its peer made right inside the
    container's namespace ``target`` as ``ifname`` (addressed, up, no default route).  On
    failure the host end is deleted (which takes the peer with it)."""
    fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with _inside(nspath) as ns:
            br = _lookup(ns, bridge)
            if br is None:
                raise SystemError_(f"bridge {bridge} does not exist")
            peer: dict[str, Any] = {"ifname": ifname, "net_ns_fd": fd, "mtu": mtu}
            if mac:
                peer["address"] = mac
            kw: dict[str, Any] = {"ifname": host_if, "kind": "veth", "master": br, "mtu": mtu}
            try:
                ns.link("add", **kw, state="up", peer=peer)
            except Exception as e:
                if getattr(e, "code", 0) != EEXIST:
                    raise
                # the same container's previous veth, still being torn down by the kernel
                _delete(ns, host_if)
                ns.link("add", **kw, state="up", peer=peer)
    except SystemError_:
        raise
    except Exception as e:
        raise SystemError_(f"failed to create veth {host_if}: {e}") from None
    finally:
        os.close(fd)
    try:
        netlink.configure_inside(target, ifname, ifname, netlink.Addressing(ip, prefix))
    except BaseException:
        detach(nspath, host_if)
        raise


def _delete(ns: Any, name: str) -> None:
    idx = _lookup(ns, name)
    if idx is not None:
        with contextlib.suppress(Exception):
            ns.link("del", index=idx)


def detach(nspath: str, host_if: str) -> None:
    """Delete a container's host-side veth (and so its peer); idempotent."""
    if netns.pinned(nspath):
        with _inside(nspath) as ns:
            _delete(ns, host_if)


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
