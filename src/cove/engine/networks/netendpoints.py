"""Containers on networks: addresses, interfaces, published ports, firewall, DNS, links.

Start runs ``net_prepare`` (sync: addresses and host ports, so a taken port fails before
anything runs and /etc/hosts can name the container's own address), the runtime creates the
container's namespace, then ``net_attach`` plugs the interfaces into
``/proc/<pid>/ns/net`` before the process starts.  Joining the runtime's namespace (rather
than creating a named one first) saves a bind mount per start, and the kernel removes the
container's interfaces with the namespace, so a crash cannot leak them.

Addresses are not persisted separately: an address is in use while a container record holds
it, so ``net_release`` (exit, failed start, removal) frees it by clearing the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from cove.engine.base import EngineOptions, Paths
from cove.engine.events import EventBus
from cove.engine.networks.links import has_links, link_parts, links_of, shared_ip, user_defined
from cove.engine.networks.netfirewall import EndpointFirewall
from cove.engine.networks.records import (
    TOP_FIELDS,
    EndpointSettings,
    Network,
    check_ipam_request,
    empty_endpoint,
    empty_network_settings,
    endpoint_on,
    endpoint_request,
    endpoints,
    ipv6_config,
    set_endpoint_options,
)
from cove.engine.record import Container
from cove.errors import Conflict, CoveError, Forbidden, InvalidArgument, NotFound
from cove.network import ipam, ports
from cove.network.base import Driver, Endpoint, NetConfig, NetOptions
from cove.network.names import port_mss_name, table_name, veth_name
from cove.util.bridge import WorkerPool
from cove.util.jsontypes import Json

if TYPE_CHECKING:  # the overlay side (with its cluster store client) loads only with a store
    from cove.engine.networks.overlay import Overlay

log = logging.getLogger("cove.network")
T = TypeVar("T")
PREDEFINED = ("bridge", "host", "none")
_NS_RE = re.compile(r"^\s*nameserver\s+(\S+)", re.M)


class NetworkHost(Protocol):
    """What the network operations need of the engine that holds them: the shared paths,
    options and event bus, and the container table with its lookup and locks."""

    paths: Paths
    options: EngineOptions
    bus: EventBus
    containers: dict[str, Container]

    def find(self, ref: str) -> Container: ...

    def lock(self, cid: str) -> asyncio.Lock: ...


class EndpointOps:
    """The network service's endpoint side (held by the engine as ``engine.networking`` and
    ``engine.net``, never one of its bases)."""

    networks: dict[str, Network]
    net_options: NetOptions
    _overlay: Overlay | None  # held when a cluster store is set (networks.py makes it)

    def __init__(self, eng: NetworkHost) -> None:
        self.eng = eng
        self.paths = eng.paths
        self.options = eng.options
        self.bus = eng.bus

    @property
    def containers(self) -> dict[str, Container]:
        return self.eng.containers

    def find(self, ref: str) -> Container:
        return self.eng.find(ref)

    def lock(self, cid: str) -> asyncio.Lock:
        return self.eng.lock(cid)

    def _init_endpoints(self) -> None:
        from cove.network.dns import DnsServer
        from cove.network.drivers import all_drivers
        from cove.network.portmap import PortReservations
        from cove.network.portmss import PortMss

        self.networks = {}
        self.net_options = self.options.net
        self._drivers: dict[str, Driver] = all_drivers(self.net_options.ip_forward)
        self._ports = PortReservations(self.net_options.host_forwarder)
        self._dns = DnsServer()
        self._fw_table = table_name(self.paths.exec_root)
        self._port_mss = PortMss(port_mss_name(self._fw_table))
        self._firewall = EndpointFirewall(self, self._fw_table, self._port_mss)
        self._net_pool = WorkerPool(1, "cove-net")  # one netlink change at a time
        self._load_networks()

    def _load_networks(self) -> None:  # service.py
        raise NotImplementedError

    def _by_name(self, ref: str) -> Network:  # service.py
        raise NotImplementedError

    async def _net_call(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._net_pool.call(fn, *args)

    def _overlay_of(self) -> Overlay:
        if self._overlay is None:
            raise Forbidden(
                'overlay networks need a cluster store: set "cluster-store" and '
                '"cluster-advertise" in daemon.json'
            )
        return self._overlay

    def _driver_of(self, n: Network) -> Driver:
        return self._drivers[n["Driver"]]

    def _netcfg(self, n: Network) -> NetConfig:
        cfg = (n["IPAM"]["Config"] or [{}])[0]
        opts = dict(n.get("Options") or {})
        if (n.get("_cove") or {}).get("created_parent"):
            opts["cove.created_parent"] = "true"
        cfg6 = ipv6_config(n) or {}
        return NetConfig(
            n["Id"], n["Name"], n["Driver"], cfg.get("Subnet", ""), cfg.get("Gateway", ""),
            opts, bool(n.get("Internal")), cfg6.get("Subnet", ""), cfg6.get("Gateway", ""),
        )  # fmt: skip

    def _records_path(self, n: Network) -> str:
        return os.path.join(self.paths.exec_root, "network", n["Id"] + ".hosts")

    # --- create ---------------------------------------------------------------------------
    def net_create_settings(self, hc: Json, body: Json) -> tuple[Json, list[str]]:
        """``NetworkSettings`` of a new container, and warnings; validates the mode."""
        mode = str(hc.get("NetworkMode") or "default")
        warnings: list[str] = []
        has_ports = bool(hc.get("PortBindings")) or bool(hc.get("PublishAllPorts"))
        for key in hc.get("PortBindings") or {}:
            ports.split_port(key)
        nets: dict[str, EndpointSettings] = {}
        if mode.startswith("container:"):
            if has_ports:
                raise InvalidArgument(
                    "conflicting options: port publishing and the container type network mode"
                )
            # the other container is looked up at start, as dockerd does: a 404 on create
            # would make the docker CLI take it for a missing image and try to pull one
        elif mode == "host":
            if has_ports:
                warnings.append("Published ports are discarded when using host network mode")
            nets["host"] = empty_endpoint()
            nets["host"]["NetworkID"] = self._by_name("host")["Id"]
        elif mode == "none":
            nets["none"] = empty_endpoint()
            nets["none"]["NetworkID"] = self._by_name("none")["Id"]
        else:
            n = self._by_name("bridge" if mode == "default" else mode)
            eps: Json = ((body.get("NetworkingConfig") or {}).get("EndpointsConfig")) or {}
            main = {mode, n["Name"], n["Id"]}
            want = next((eps[k] for k in eps if k in main and eps[k]), None)
            nets[n["Name"]] = self._requested_endpoint(n, endpoint_request(want))
            # API 1.44: the other networks named there are joined too; each must exist
            for key, cfg in eps.items():
                if key not in main:
                    other = self._by_name(key)
                    if other["Name"] not in nets and other["Name"] not in ("host", "none"):
                        nets[other["Name"]] = self._requested_endpoint(other, endpoint_request(cfg))
        if not user_defined(hc):  # legacy links name existing containers; others are DNS only
            for link in hc.get("Links") or []:
                target = link_parts(str(link))[0]
                try:
                    self.find(target)
                except NotFound as e:  # dockerd's 400: a 404 would make the CLI pull
                    raise InvalidArgument(f"could not get container for {target}: {e}") from None
        return empty_network_settings(nets), warnings

    def _requested_endpoint(self, n: Network, want: EndpointSettings) -> EndpointSettings:
        """A new container's endpoint on ``n`` from its EndpointSettings request."""
        ipam_cfg = want.get("IPAMConfig") or None
        check_ipam_request(n, ipam_cfg)
        ep = empty_endpoint(list(want.get("Aliases") or []) or None, ipam_cfg)
        ep["NetworkID"] = n["Id"]
        ep["MacAddress"] = str(want.get("MacAddress") or "")
        set_endpoint_options(ep, want)
        return ep

    # --- start ----------------------------------------------------------------------------
    def _used_ips(
        self, n: Network, key: Literal["IPAddress", "GlobalIPv6Address"] = "IPAddress"
    ) -> list[str]:
        """Addresses held on ``n``: ``key`` is IPAddress or GlobalIPv6Address."""
        out = []
        for c in self.containers.values():
            ep = endpoint_on(c, n["Name"])
            if ep and ep.get(key):
                out.append(ep[key])
        return out

    def _attached(
        self, c: Container, strict: bool = False
    ) -> list[tuple[Network, EndpointSettings]]:
        """(network, endpoint) pairs with a driver that gives an interface.  A network removed
        while a stopped container still names it is skipped, so one stale record cannot
        break the firewall plan for everyone; ``strict`` (starting that container) raises
        Docker's "network x not found" instead."""
        out = []
        networks = self.networks
        for name, ep in endpoints(c).items():
            if name in ("host", "none"):
                continue
            # the endpoint's own network id first: a dict lookup (this runs for every
            # container at each start), the search by name or id prefix only when it is gone
            found = networks.get(ep.get("NetworkID") or "")
            if found is not None:
                out.append((found, ep))
                continue
            try:
                n = self._by_name(ep.get("NetworkID") or name)
            except NotFound:
                try:
                    n = self._by_name(name)
                except NotFound:
                    if strict:
                        raise
                    continue
            out.append((n, ep))
        return out

    def _allocate(self, c: Container, n: Network, ep: EndpointSettings, index: int) -> None:
        cfg = (n["IPAM"]["Config"] or [{}])[0]
        pool = ipam.Pool.from_config(cfg["Subnet"], cfg.get("Gateway", ""), cfg.get("IPRange", ""))
        want = str((ep.get("IPAMConfig") or {}).get("IPv4Address") or "")
        if n["Driver"] == "overlay":  # exactly the address reserved in the cluster store
            want = self._overlay_of().take_reserved(c, n)
        cfg6 = ipv6_config(n)
        try:
            ip = pool.allocate(self._used_ips(n), want, n["Name"])
            v6: tuple[str, int, str] = ("", 0, "")
            if cfg6 is not None:
                pool6 = ipam.Pool.from_config(
                    cfg6["Subnet"], cfg6.get("Gateway", ""), cfg6.get("IPRange", "")
                )
                want6 = str((ep.get("IPAMConfig") or {}).get("IPv6Address") or "")
                ip6 = pool6.allocate(self._used_ips(n, "GlobalIPv6Address"), want6, n["Name"])
                v6 = (str(ip6), pool6.subnet.prefixlen, str(pool6.gateway))
        except Conflict as e:
            raise Conflict(f"failed to set up container networking: {e.message}") from None
        # a MAC asked for on the endpoint (create or connect) outlives stops, as in Docker
        if ep.get("MacAddress") and not ep.get("EndpointID"):
            c.set_desired_mac(n["Id"], str(ep["MacAddress"]))
        mac = c.desired_mac(n["Id"])
        ep.update(
            {
                "NetworkID": n["Id"],
                "EndpointID": os.urandom(32).hex(),
                "Gateway": str(pool.gateway),
                "IPAddress": str(ip),
                "IPPrefixLen": pool.subnet.prefixlen,
                "MacAddress": (mac or c.config.get("MacAddress") or "") if index == 0 else mac,
                "GlobalIPv6Address": v6[0],
                "GlobalIPv6PrefixLen": v6[1],
                "IPv6Gateway": v6[2],
            }
        )
        if not ep["MacAddress"]:
            ep["MacAddress"] = ipam.mac_for(ip)
        if n["Name"] not in PREDEFINED:
            ep["DNSNames"] = [c.name, c.id[:12], *(ep.get("Aliases") or [])]

    def net_prepare(self, c: Container) -> None:
        ns = c.data["NetworkSettings"]
        try:
            attached = self._attached(c, strict=True)
            for i, (n, ep) in enumerate(attached):
                self._allocate(c, n, ep, i)
            if attached:
                first_n, first = attached[0]
                if first_n["Name"] == "bridge":
                    for k in TOP_FIELDS:
                        ns[k] = first[k]
                    ns["Bridge"] = first_n["Options"].get("com.docker.network.bridge.name", "")
                want = ports.wanted(c.host_config, c.config.get("ExposedPorts"))
                label = f"{c.name} ({first['EndpointID'][:64]})"
                got = self._ports.reserve(c.id, want, label)
                ns["Ports"] = ports.inspect_ports(c.config.get("ExposedPorts"), got)
            self._check_links(c)
        except BaseException:
            self._clear(c)
            raise

    def _check_links(self, c: Container) -> None:
        if user_defined(c.host_config):
            return  # on a user-defined network a link is a DNS alias; its target may come later
        for link in c.host_config.get("Links") or []:
            name, _alias = link_parts(str(link))
            other = self.find(name)
            if not other.state.get("Running"):
                raise Conflict(
                    f"Cannot link to a non running container: /{other.name} AS /{c.name}/{_alias}"
                )

    async def net_attach(self, c: Container, pid: int) -> None:
        """Plug the interfaces into the new namespace; on failure everything is released."""
        netns = f"/proc/{pid}/ns/net"
        try:
            attached = self._attached(c)
            if attached:
                await self._net_call(self._join_all, c, netns, attached)
                c.data["NetworkSettings"]["SandboxKey"] = netns
                c.data["NetworkSettings"]["SandboxID"] = c.id
                await self._publish(c, netns)
            elif self._overlay is not None:
                await self._overlay.publish(c)
            # else: a container without interfaces (--network none or host, container:)
            # has no records, DNS, link targets or firewall entries before or after its
            # start, so the link refresh and the firewall plan (both walk every container)
            # would find nothing to change
        except BaseException:
            await self.net_release(c)
            raise

    def _join_all(
        self, c: Container, netns: str, attached: list[tuple[Network, EndpointSettings]]
    ) -> None:
        for i, (n, ep) in enumerate(attached):
            self._join(c, n, ep, netns, f"eth{i}")

    def _join(
        self, c: Container, n: Network, ep: EndpointSettings, netns: str, ifname: str
    ) -> None:
        e = self._endpoint(c, n, ep, ifname)
        try:
            self._driver_of(n).join(self._netcfg(n), e, netns)
        except CoveError as err:
            raise type(err)(f"failed to set up container networking: {err.message}") from None
        c.set_net_ifname(n["Id"], ifname)

    def _endpoint(self, c: Container, n: Network, ep: EndpointSettings, ifname: str) -> Endpoint:
        return Endpoint(
            ep["EndpointID"], ifname, veth_name(c.id, n["Id"]), ep["IPAddress"],
            int(ep["IPPrefixLen"]), "" if n.get("Internal") else ep["Gateway"], ep["MacAddress"],
            ep.get("GlobalIPv6Address") or "", int(ep.get("GlobalIPv6PrefixLen") or 0),
            "" if n.get("Internal") else ep.get("IPv6Gateway") or "",
        )  # fmt: skip

    async def _publish(self, c: Container, netns: str | None) -> None:
        """Records, DNS listener and firewall after a change of ``c``'s endpoints."""
        touched = [n for n, _ in self._attached(c) if n["Name"] not in PREDEFINED]
        for n in touched:
            self._write_records(n)
        if touched and netns is not None and c.state.get("Pid") is not None:
            self._dns.listen(
                c.id, netns, [self._records_path(n) for n in touched], self._link_ips(c),
                self._upstreams(c),
            )  # fmt: skip
        self._refresh_links(c)
        await self._apply_firewall()
        if self._overlay is not None:
            await self._overlay.publish(c)

    def _refresh_links(self, changed: Container) -> None:
        """Containers linking to ``changed`` (which got or lost addresses) see the new IPs."""
        for other in self.containers.values():
            if other is not changed and other.state.get("Running") and has_links(other):
                self._dns.update_links(other.id, self._link_ips(other))

    def _write_records(self, n: Network) -> None:
        if n["Driver"] == "overlay" and self._overlay is not None:
            self._overlay.write_records(n)  # with the other hosts' records
            return
        from cove.network.dns import write_records

        entries = []
        for c in self.containers.values():
            ep = endpoint_on(c, n["Name"])
            if ep and ep.get("IPAddress"):
                entries.append((ep["IPAddress"], list(ep.get("DNSNames") or [c.name])))
            if ep and ep.get("GlobalIPv6Address"):  # AAAA: a line of its own, same names
                entries.append((ep["GlobalIPv6Address"], list(ep.get("DNSNames") or [c.name])))
        path = self._records_path(n)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_records(path, entries)

    def _upstreams(self, c: Container) -> list[str]:
        dns = list(c.host_config.get("Dns") or self.options.dns)
        if dns:
            return dns
        try:
            with open("/etc/resolv.conf") as f:
                return _NS_RE.findall(f.read())
        except OSError:
            return []

    def _link_ips(self, c: Container) -> dict[str, str]:
        out = {}
        for name, alias in links_of(c):
            try:
                other = self.find(name)
            except NotFound:
                continue
            ip = shared_ip(c, other)
            if ip:
                out[alias.lower()] = ip
        return out

    async def _apply_firewall(self, force: bool = False) -> None:
        await self._firewall.apply(force)

    # --- stop / remove --------------------------------------------------------------------
    def _clear(self, c: Container) -> None:
        ns = c.data["NetworkSettings"]
        for n, ep in self._attached(c):
            for k in ("EndpointID", "Gateway", "IPAddress", "GlobalIPv6Address", "IPv6Gateway"):
                ep[k] = ""
            ep["MacAddress"] = c.desired_mac(n["Id"])
            ep["IPPrefixLen"] = ep["GlobalIPv6PrefixLen"] = 0
            ep["DNSNames"] = None
        for k in TOP_FIELDS:
            ns[k] = 0 if k.endswith("PrefixLen") else ""
        ns.update(Ports={}, SandboxKey="", SandboxID="", Bridge="")
        self._ports.release(c.id)
        c.clear_net_ifnames()

    async def net_release(self, c: Container) -> None:
        """Free everything the container holds on its networks; idempotent, never raises."""
        if self._overlay is not None:
            self._overlay.release_endpoints(c)
        self._dns.close(c.id)
        try:
            attached = self._attached(c)
        except NotFound:
            attached = []
        held = [(n, ep) for n, ep in attached if ep.get("IPAddress")]
        self._clear(c)
        # The interfaces are not deleted here: the container's processes are gone, and the
        # kernel removes a namespace's veth and macvlan links with it, off our critical path
        # (deleting a veth waits for an RCU grace period, ~20 ms).
        for n, _ in held:
            if n["Name"] not in PREDEFINED:
                with contextlib.suppress(OSError):
                    self._write_records(n)
        self._refresh_links(c)
        try:
            await self._apply_firewall()
        except CoveError as e:
            log.warning("firewall update after %s left: %s", c.id, e)
        if self._overlay is not None:
            await self._overlay.sync_records(c, {})

    # --- /etc files, env ------------------------------------------------------------------
    def net_hosts_entries(self, c: Container) -> list[str]:
        """Extra /etc/hosts lines in --add-host form ("names:ip")."""
        out = []
        attached = [(n, ep) for n, ep in self._attached(c) if ep.get("IPAddress")]
        if attached:
            host = str(c.config.get("Hostname") or c.id[:12])
            dom = str(c.config.get("Domainname") or "")
            names = f"{host}.{dom} {host}" if dom else host
            out.append(f"{names}:{attached[0][1]['IPAddress']}")
            if attached[0][1].get("GlobalIPv6Address"):
                out.append(f"{names}:{attached[0][1]['GlobalIPv6Address']}")
        for alias, other, ip in self._linked(c):
            out.append(f"{alias} {other.id[:12]} {other.name}:{ip}")
        return out

    def _linked(self, c: Container) -> Iterator[tuple[str, Container, str]]:
        """``c``'s --link targets that exist and share a network with it: (alias, the
        container, its address there)."""
        for link in c.host_config.get("Links") or []:
            name, alias = link_parts(str(link))
            with contextlib.suppress(NotFound):
                other = self.find(name)
                ip = shared_ip(c, other)
                if ip:
                    yield alias, other, ip

    def net_embedded_dns(self, c: Container) -> bool:
        return any(n["Name"] not in PREDEFINED for n, _ in self._attached(c))

    def net_link_env(self, c: Container) -> list[str]:
        from cove.engine.networks.links import link_env

        out: list[str] = []
        if any(n["Name"] != "bridge" for n, _ in self._attached(c)):
            return out  # legacy link variables exist on the default bridge only
        for alias, other, ip in self._linked(c):
            out += link_env(c.name, alias, other.name, ip, other.config)
        return out
