"""The ``overlay`` driver: a network spanning hosts over VXLAN.

A container on an overlay network gets two interfaces: ``ethN``, a macvlan of the network's
VXLAN device (the overlay address, no default route) and, unless the network is ``--internal``,
``gwethN`` on this host's gateway bridge with an address from the gateway subnet and the
default route: the role of Docker's ``docker_gwbridge``, masqueraded by cove's nft table.

The network's VXLAN device lives in a namespace of its own, pinned under
``nsdir`` (see ``netns``).  Remote endpoints are programmed by ``program`` (forwarding +
neighbour entries), from the store's endpoint records, by the engine's watch task.
Everything runs on the engine's network thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
from dataclasses import dataclass, field

from cove.errors import Conflict
from cove.network import netlink
from cove.network.base import Endpoint, NetConfig
from cove.network.overlay import vxlan
from cove.util.fs import atomic_write_json

VXLAN_OVERHEAD = 50  # outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8
VNI_OPTION = "com.docker.network.driver.overlay.vxlanid_list"

Remote = tuple[str, str, str]  # (mac, ip, vtep)


def vni_for(net_id: str) -> int:
    """A VNI every host derives alike from the network id (4096 and up, as Docker's)."""
    return 4096 + int(hashlib.sha256(net_id.encode()).hexdigest()[:8], 16) % (2**24 - 4096)


def bridge_name(net_id: str) -> str:
    return "ov-" + net_id[:12]


def vxlan_name(net_id: str) -> str:
    return "vx-" + net_id[:12]


def gw_ifname(ifname: str) -> str:
    return "gw" + ifname


@dataclass
class GatewayBridge:
    name: str
    subnet: ipaddress.IPv4Network
    taken: dict[str, str] = field(default_factory=dict)  # endpoint id -> address
    path: str = ""  # where ``taken`` is kept, so a daemon restart knows the running ones

    def load(self) -> None:
        if self.path:
            with contextlib.suppress(OSError, ValueError), open(self.path) as f:
                self.taken = {str(k): str(v) for k, v in json.load(f).items()}

    def _save(self) -> None:
        if self.path:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            atomic_write_json(self.path, self.taken, sync=False)

    def free(self, ep_id: str) -> None:
        if self.taken.pop(ep_id, None) is not None:
            self._save()

    def keep_only(self, ep_ids: set[str]) -> None:
        """After a restart: forget the addresses of endpoints that no longer run."""
        gone = set(self.taken) - ep_ids
        for k in gone:
            del self.taken[k]
        if gone:
            self._save()

    @property
    def gateway(self) -> str:
        return str(next(self.subnet.hosts()))

    def allocate(self, ep_id: str) -> str:
        if ep_id in self.taken:
            return self.taken[ep_id]
        used = {self.gateway, *self.taken.values()}
        for ip in self.subnet.hosts():
            if str(ip) not in used:
                self.taken[ep_id] = str(ip)
                self._save()
                return str(ip)
        raise Conflict(f"no available addresses on the gateway bridge {self.name}")


class OverlayDriver:
    name = "overlay"

    def __init__(self, vtep: str, gw: GatewayBridge | None, nsdir: str) -> None:
        self.vtep = vtep
        self.gw = gw
        self.nsdir = nsdir
        self.mtu = 0
        self.programmed: dict[str, set[Remote]] = {}  # network id -> remote entries

    def _mtu(self) -> int:
        if not self.mtu:
            self.mtu = vxlan.underlay_mtu(self.vtep) - VXLAN_OVERHEAD
        return self.mtu

    def nspath(self, net_id: str) -> str:
        return os.path.join(self.nsdir, "ov-" + net_id[:12])

    def create(self, net: NetConfig) -> None:
        vni = int(net.options.get(VNI_OPTION) or vni_for(net.id))
        vxlan.ensure(
            self.nspath(net.id), bridge_name(net.id), vxlan_name(net.id), vni, self.vtep,
            self._mtu(),
        )  # fmt: skip
        netlink.set_ip_forward()  # for the gateway bridge

    def delete(self, net: NetConfig) -> None:
        vxlan.remove(self.nspath(net.id), bridge_name(net.id), vxlan_name(net.id))
        self.programmed.pop(net.id, None)

    def exists(self, net_id: str) -> bool:
        return vxlan.exists(self.nspath(net_id), vxlan_name(net_id))

    def join(self, net: NetConfig, ep: Endpoint, netns: str) -> None:
        if not self.exists(net.id):
            self.create(net)
        ovns = self.nspath(net.id)
        vxlan.attach(ovns, vxlan_name(net.id), netns, ep.ifname, ep.ip, ep.prefix, ep.mac)
        vxlan.quick_arp_retry(netns, ep.ifname)
        if net.internal or self.gw is None:
            return
        gw = self.gw
        try:
            netlink.ensure_bridge(gw.name, gw.gateway, gw.subnet.prefixlen)
            ip = gw.allocate(ep.id)
            addr = netlink.Addressing(ip, gw.subnet.prefixlen, gw.gateway)
            netlink.attach_veth(gw.name, "cg" + ep.host_if[2:], netns, gw_ifname(ep.ifname), addr)
        except BaseException:
            gw.free(ep.id)
            netlink.detach_inside(netns, ep.ifname)
            raise

    def leave(self, net: NetConfig, ep: Endpoint, netns: str | None) -> None:
        self.release(ep.id)
        if netns is not None:  # else the interface went with the container's namespace
            netlink.detach_inside(netns, ep.ifname)
        netlink.delete_link("cg" + ep.host_if[2:])

    def release(self, ep_id: str) -> None:
        if self.gw is not None:
            self.gw.free(ep_id)

    def program(self, net_id: str, want: set[Remote]) -> None:
        """Make the network's remote entries exactly ``want`` (no-op without the devices)."""
        if not self.exists(net_id):
            self.programmed.pop(net_id, None)
            return
        have = self.programmed.setdefault(net_id, set())
        dev, ovns = vxlan_name(net_id), self.nspath(net_id)
        for mac, ip, vtep in sorted(have - want):
            vxlan.del_remote(ovns, dev, mac, ip, vtep)
            have.discard((mac, ip, vtep))
        for mac, ip, vtep in sorted(want - have):
            vxlan.add_remote(ovns, dev, mac, ip, vtep)
            have.add((mac, ip, vtep))
