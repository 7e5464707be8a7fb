"""The firewall of the containers' endpoints: one nftables plan built from every network and
every container (bridges, published ports, legacy links, the overlay's rules), applied whole
and only when its text changed, and the MSS clamp of published TCP ports reached through a
local address.

The rules are derived from the records each time, never patched: a failed apply leaves the
previous table in place and the next change applies everything again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from cove.engine.networks.links import link_parts, shared_ip
from cove.engine.networks.records import EndpointSettings, Network
from cove.engine.record import Container
from cove.errors import NotFound
from cove.network import firewall, ports
from cove.network.base import NetConfig, NetOptions

if TYPE_CHECKING:
    from cove.engine.networks.overlay import Overlay
    from cove.network.portmap import PortReservations
    from cove.network.portmss import PortMss

T = TypeVar("T")


class FirewallHost(Protocol):
    """What the firewall reads of the endpoint operations that hold it."""

    networks: dict[str, Network]
    net_options: NetOptions
    _overlay: Overlay | None
    _ports: PortReservations

    @property
    def containers(self) -> dict[str, Container]: ...

    def find(self, ref: str) -> Container: ...

    async def _net_call(self, fn: Callable[..., T], *args: Any) -> T: ...

    def _netcfg(self, n: Network) -> NetConfig: ...

    def _attached(
        self, c: Container, strict: bool = False
    ) -> list[tuple[Network, EndpointSettings]]: ...


class EndpointFirewall:
    def __init__(self, host: FirewallHost, table: str, port_mss: PortMss) -> None:
        self.host = host
        self.table = table
        self.port_mss = port_mss
        self.applied: str | None = None  # the text of the last plan applied

    def plan(self) -> firewall.Plan:
        plan = firewall.Plan(self.table)
        for n in sorted(self.host.networks.values(), key=lambda n: n["Created"]):
            if n["Driver"] != "bridge" or not n["IPAM"]["Config"]:
                continue
            o = n.get("Options") or {}
            plan.bridges.append(
                firewall.BridgeRules(
                    self.host._netcfg(n).ifname,
                    n["IPAM"]["Config"][0]["Subnet"],
                    masquerade=o.get("com.docker.network.bridge.enable_ip_masquerade", "true")
                    == "true",
                    internal=bool(n.get("Internal")),
                    icc=o.get("com.docker.network.bridge.enable_icc", "true") == "true",
                )
            )
        for c in self.host.containers.values():
            ns = c.data["NetworkSettings"]
            attached = [(n, ep) for n, ep in self.host._attached(c) if ep.get("IPAddress")]
            if not attached:
                continue
            ip = attached[0][1]["IPAddress"]
            for m in ports.from_inspect(ns.get("Ports") or {}):
                plan.published.append(
                    firewall.Published(
                        m.proto, self.host._ports.rule_ip(m), m.host_port, ip, m.container_port
                    )
                )
            for link in c.host_config.get("Links") or []:
                name, _alias = link_parts(str(link))
                with contextlib.suppress(NotFound):
                    other = self.host.find(name)
                    dst = shared_ip(c, other)
                    bridge = self.shared_bridge(c, other)
                    for key in other.config.get("ExposedPorts") or {}:
                        port, proto = ports.split_port(key)
                        if dst and bridge:
                            plan.links.append(firewall.LinkAllow(bridge, ip, dst, proto, port))
        if self.host._overlay is not None:
            self.host._overlay.add_rules(plan)
        return plan

    def shared_bridge(self, a: Container, b: Container) -> str:
        mine = {n["Id"]: n for n, _ in self.host._attached(a)}
        for n, _ in self.host._attached(b):
            if n["Id"] in mine and n["Driver"] == "bridge":
                return self.host._netcfg(n).ifname
        return ""

    def mss_wanted(self) -> dict[tuple[str, int], int]:
        """Published TCP ports reachable through a local IPv4 address, each with the MSS of
        the network its DNAT leads to (the MTU less 40 bytes of headers)."""
        out = {}
        for c in self.host.containers.values():
            attached = [n for n, ep in self.host._attached(c) if ep.get("IPAddress")]
            if not attached:
                continue
            opts = attached[0].get("Options") or {}
            mss = int(opts.get("com.docker.network.driver.mtu") or 1500) - 40
            for m in ports.from_inspect(c.data["NetworkSettings"].get("Ports") or {}):
                if m.proto == "tcp" and ":" not in m.host_ip:
                    out[(m.host_ip, m.host_port)] = mss
        return out

    async def apply(self, force: bool = False) -> None:
        if not self.host.net_options.iptables:
            return
        text = firewall.render(self.plan())
        if text == self.applied and not force:
            return
        from cove.network import nft

        await self.host._net_call(nft.apply, text)
        self.applied = text
        if self.host.net_options.local_port_mss:
            await self.host._net_call(self.port_mss.apply, self.mss_wanted())
