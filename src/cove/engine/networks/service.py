"""Network objects: create, list, inspect, remove, prune, connect, disconnect.

A network is its Docker inspect JSON, persisted one file per network under
``<data-root>/network``; ``Containers`` is derived from the container records at read time.
The predefined ``bridge``, ``host`` and ``none`` networks are created at the first start.
Endpoint setup for containers lives in ``netendpoints``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from typing import Any

from cove.engine.networks.netconnect import ConnectOps
from cove.engine.networks.netendpoints import PREDEFINED, NetworkHost
from cove.engine.networks.records import (
    IPAMConfig,
    Network,
    NetworkMember,
    endpoint_on,
    endpoint_request,
    ipam_config,
    load_network,
    network_json,
)
from cove.engine.record import Container
from cove.errors import Conflict, Forbidden, InvalidArgument, NotFound
from cove.network import ipam
from cove.network.hostroutes import host_routes, missing_link, proc_routes
from cove.util.fs import atomic_write_json, read_json
from cove.util.ids import new_id
from cove.util.jsontypes import Json
from cove.util.labels import labels_match
from cove.util.timefmt import now_rfc3339

# dockerd takes any name ("test 01" included); only empty names, control characters and
# "/" (it would break the /networks/{name} path) are refused here
_NAME = re.compile(r"^[^/\x00-\x1f\x7f]+$")


class NetworkOps(ConnectOps):
    """The network service: networks, endpoints, the firewall, DNS and the overlay driver.
    The engine holds one (``engine.networking``; ``engine.net`` is its ContainerNetworking
    side) and forwards the network routes' operations to it."""

    _net_change: asyncio.Lock

    def __init__(self, eng: NetworkHost) -> None:
        super().__init__(eng)
        self._init_networks()

    def _init_networks(self) -> None:
        self._init_endpoints()
        self._overlay = None
        if self.net_options.cluster_store:
            # the overlay driver, its cluster code and the store client are imported only
            # by a daemon that has a cluster store (some 1,400 lines coved otherwise never runs)
            from cove.engine.networks.overlay import Overlay
            from cove.engine.networks.overlay_base import connect_cluster

            found = connect_cluster(self, self._net_pool, self._fw_table)
            if found is not None:
                driver, cluster = found
                self._drivers["overlay"] = driver
                self._overlay = Overlay(self, cluster)
        # create and remove check names and subnets against every network, then await
        # (host routes, the driver, the cluster store) before the new one is recorded: one
        # change at a time, or concurrent creates pass the same checks and share a subnet
        self._net_change = asyncio.Lock()

    def _net_dir(self) -> str:
        return os.path.join(self.paths.data_root, "network")

    def _save_network(self, n: Network) -> None:
        os.makedirs(self._net_dir(), exist_ok=True)
        atomic_write_json(os.path.join(self._net_dir(), n["Id"] + ".json"), n, sync=False)

    def _load_networks(self) -> None:
        os.makedirs(self._net_dir(), exist_ok=True)
        for fn in os.listdir(self._net_dir()):
            if fn.endswith(".json"):
                try:
                    n = load_network(read_json(os.path.join(self._net_dir(), fn)))
                except (OSError, ValueError):
                    continue
                self.networks[n["Id"]] = n
        have = {n["Name"] for n in self.networks.values()}
        for name, driver in (("none", "null"), ("host", "host")):
            if name not in have:
                self._save_network(self._new_record(name, driver, [], {}, {}, False))
        self._ensure_default_bridge(have)
        for fn in os.listdir(self._net_dir()):
            n = load_network(read_json(os.path.join(self._net_dir(), fn)))
            self.networks[n["Id"]] = n

    def _new_record(
        self,
        name: str,
        driver: str,
        ipam_cfg: list[IPAMConfig],
        options: dict[str, str],
        labels: dict[str, str],
        internal: bool,
        attachable: bool = False,
    ) -> Network:
        return {
            "Name": name,
            "Id": new_id(),
            "Created": now_rfc3339(),
            "Scope": "local",
            "Driver": driver,
            "EnableIPv4": True,
            "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": None, "Config": ipam_cfg},
            "Internal": internal,
            "Attachable": attachable,
            "Ingress": False,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": False,
            "Options": options,
            "Labels": labels,
        }

    def _ensure_default_bridge(self, have: set[str]) -> None:
        o = self.net_options
        name = o.bridge or "cove0"
        if o.bridge == "none":
            return
        cur = next((n for n in self.networks.values() if n["Name"] == "bridge"), None)
        if o.bip:
            gw, _, plen = o.bip.partition("/")
            subnet = str(ipam.parse_subnet4(f"{gw}/{plen or 24}"))
        elif cur is not None and cur["IPAM"]["Config"]:
            subnet = cur["IPAM"]["Config"][0]["Subnet"]
            gw = cur["IPAM"]["Config"][0]["Gateway"]
        elif o.bridge:
            from cove.network import netlink

            found = netlink.bridge_address(name)
            if found is None:
                raise InvalidArgument(f"bridge {name} has no IPv4 address; give bip as well")
            gw = found[0]
            subnet = str(ipam.parse_subnet4(f"{gw}/{found[1]}"))
        else:
            net = ipam.pick_subnet(ipam.pools_from_config(o.default_address_pools), proc_routes())
            subnet, gw = str(net), str(next(net.hosts()))
        cfg: IPAMConfig = {"Subnet": subnet, "Gateway": gw}
        if o.fixed_cidr:
            cfg["IPRange"] = o.fixed_cidr
        options = {
            "com.docker.network.bridge.default_bridge": "true",
            "com.docker.network.bridge.enable_icc": str(o.icc).lower(),
            "com.docker.network.bridge.enable_ip_masquerade": str(o.ip_masq).lower(),
            "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
            "com.docker.network.bridge.name": name,
            "com.docker.network.driver.mtu": str(o.mtu or 1500),
        }
        configs = [cfg]
        if o.ipv6 and o.fixed_cidr_v6:  # dockerd's --ipv6 --fixed-cidr-v6
            pool6 = ipam.Pool.from_config(o.fixed_cidr_v6)
            if pool6.version != 6:
                raise InvalidArgument(f"invalid fixed-cidr-v6 {o.fixed_cidr_v6}")
            configs.append({"Subnet": str(pool6.subnet), "Gateway": str(pool6.gateway)})
        if cur is None:
            cur = self._new_record("bridge", "bridge", configs, options, {}, False)
        cur["IPAM"]["Config"] = configs
        cur["EnableIPv6"] = o.ipv6
        cur["Options"] = options
        self._save_network(cur)

    # --- lookups ------------------------------------------------------------------------
    def _by_name(self, ref: str) -> Network:
        for n in self.networks.values():
            if n["Name"] == ref:
                return n
        found = self.networks.get(ref)
        if found is not None:
            return found
        hits = [n for k, n in self.networks.items() if k.startswith(ref)] if ref else []
        if len(hits) == 1:
            return hits[0]
        raise NotFound(f"network {ref} not found")

    def network_inspect(self, ref: str, verbose: bool = False) -> Json:
        n = self._by_name(ref)
        members = self._containers_of(n)
        if self._overlay is not None:  # overlay: other hosts' endpoints
            members.update(self._overlay.remote_endpoints(n))
        return {**network_json(n), "Containers": members}

    def _containers_of(self, n: Network) -> dict[str, NetworkMember]:
        out: dict[str, NetworkMember] = {}
        for c in self.containers.values():
            ep = endpoint_on(c, n["Name"])
            if ep and ep.get("EndpointID") and c.state.get("Running"):
                out[c.id] = {
                    "Name": c.name,
                    "EndpointID": ep["EndpointID"],
                    "MacAddress": ep.get("MacAddress", ""),
                    "IPv4Address": (
                        f"{ep['IPAddress']}/{ep['IPPrefixLen']}" if ep.get("IPAddress") else ""
                    ),
                    "IPv6Address": (
                        f"{ep['GlobalIPv6Address']}/{ep['GlobalIPv6PrefixLen']}"
                        if ep.get("GlobalIPv6Address")
                        else ""
                    ),
                }
        return out

    def network_list(self, filters: dict[str, list[str]]) -> list[Json]:
        out = []
        for n in sorted(self.networks.values(), key=lambda n: n["Created"]):
            if not _match(n, filters, self._containers_of):
                continue
            out.append({**network_json(n), "Containers": {}})
        return out

    # --- create / remove ----------------------------------------------------------------
    async def network_create(self, body: Json) -> Json:
        async with self._net_change:
            return await self._network_create(body)

    async def _network_create(self, body: Json) -> Json:
        name = str(body.get("Name") or "")
        if not name or not _NAME.match(name):
            raise InvalidArgument(f"invalid network name {name!r}")
        if name in PREDEFINED:  # dockerd's words, trailing space included
            raise Forbidden(f"operation is not permitted on predefined {name} network ")
        if any(n["Name"] == name for n in self.networks.values()):
            raise Conflict(f"network with name {name} already exists")
        driver = str(body.get("Driver") or "bridge")
        if self.net_options.rootless and driver in ("macvlan", "ipvlan", "overlay"):
            raise InvalidArgument(
                f"the {driver} driver cannot be used in rootless mode: it needs the host's "
                "own interfaces, which a daemon in its own network namespace cannot reach"
            )
        if driver == "overlay":
            return await self._overlay_of().create(body)
        if driver not in ("bridge", "macvlan"):
            if driver in ("host", "null"):
                raise Forbidden(f'only one instance of "{driver}" network is allowed')
            raise NotFound(f'plugin "{driver}" not found')
        options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
        # one pool per family, IPv4 first (dockerd's order); an IPv6 subnet without
        # EnableIPv6 is kept but unused, as dockerd does
        cfg, cfg6 = ipam.split_configs((body.get("IPAM") or {}).get("Config") or [])
        ipv6 = bool(body.get("EnableIPv6"))
        if ipv6 and cfg6 is None:
            raise Forbidden(ipam.NO_IPV6_POOL)
        used = [ipam.parse_subnet(c["Subnet"]) for n in self.networks.values()
                for c in n["IPAM"]["Config"] or [] if c.get("Subnet")]  # fmt: skip
        if cfg is None:
            avoid = used + await self._net_call(host_routes)
            pools = ipam.pools_from_config(self.net_options.default_address_pools)
            net = ipam.pick_subnet(pools, avoid)
            cfg = {"Subnet": str(net), "Gateway": str(next(net.hosts()))}
        pool = ipam.Pool.from_config(
            cfg.get("Subnet") or "", cfg.get("Gateway") or "", cfg.get("IPRange") or ""
        )
        cfg["Subnet"], cfg["Gateway"] = str(pool.subnet), str(pool.gateway)
        if ipam.overlaps(pool.subnet, used):
            raise Forbidden("Pool overlaps with other one on this address space")
        configs = [ipam_config(cfg)]
        if cfg6 is not None:
            pool6 = ipam.Pool.from_config(
                cfg6["Subnet"], cfg6.get("Gateway", ""), cfg6.get("IPRange", "")
            )
            cfg6["Subnet"] = str(pool6.subnet)
            if ipv6:
                cfg6["Gateway"] = str(pool6.gateway)
                if ipam.overlaps(pool6.subnet, used):
                    raise Forbidden("Pool overlaps with other one on this address space")
            configs.append(ipam_config(cfg6))
        if driver == "bridge":
            br = options.get("com.docker.network.bridge.name")
            if br and any(
                n["Options"].get("com.docker.network.bridge.name") == br
                for n in self.networks.values()
            ):
                raise Conflict(f"bridge name {br} is already in use")
        n = self._new_record(
            name,
            driver,
            configs,
            options,
            {str(k): str(v) for k, v in (body.get("Labels") or {}).items()},
            bool(body.get("Internal")),
            bool(body.get("Attachable")),
        )
        n["EnableIPv6"] = ipv6
        if driver == "macvlan":
            parent = options.get("parent", "")
            if parent and "." in parent and await self._net_call(missing_link, parent):
                n["_cove"] = {"created_parent": True}  # removed with the network
        await self._net_call(self._driver_of(n).create, self._netcfg(n))
        try:
            self._save_network(n)  # before it is seen: a record that cannot be written
        except OSError:  # (a full disk) leaves no network, in memory or in the kernel
            with contextlib.suppress(Exception):
                await self._net_call(self._driver_of(n).delete, self._netcfg(n))
            raise
        self.networks[n["Id"]] = n
        self.bus.emit("network", "create", n["Id"], {"name": name, "type": driver})
        await self._apply_firewall()
        return {"Id": n["Id"], "Warning": ""}

    async def network_remove(self, ref: str) -> None:
        async with self._net_change:
            await self._network_remove(ref)

    async def _network_remove(self, ref: str) -> None:
        n = self._by_name(ref)
        if n["Name"] in PREDEFINED:
            raise Forbidden(f"{n['Name']} is a pre-defined network and cannot be removed")
        if self._containers_of(n):
            raise Forbidden(
                f"error while removing network: network {n['Name']} id {n['Id']} has active "
                "endpoints"
            )
        if n["Driver"] == "overlay":
            await self._overlay_of().remove(n)
        cfg = self._netcfg(n)
        await self._net_call(self._driver_of(n).delete, cfg)
        self.networks.pop(n["Id"], None)
        try:
            os.unlink(os.path.join(self._net_dir(), n["Id"] + ".json"))
        except FileNotFoundError:
            pass
        try:
            os.unlink(self._records_path(n))
        except FileNotFoundError:
            pass
        self.bus.emit("network", "destroy", n["Id"], {"name": n["Name"], "type": n["Driver"]})
        await self._apply_firewall()

    async def network_prune(self, filters: dict[str, list[str]]) -> Json:
        gone = []
        for n in list(self.networks.values()):
            if n["Name"] in PREDEFINED or self._containers_of(n):
                continue
            if any(endpoint_on(c, n["Name"]) for c in self.containers.values()):
                continue
            if not _match(
                n, {k: v for k, v in filters.items() if k == "label"}, self._containers_of
            ):
                continue
            await self.network_remove(n["Id"])
            gone.append(n["Name"])
        return {"NetworksDeleted": gone}

    # --- start (engine/networking.py's ContainerNetworking) ----------------------------
    async def net_prepare_async(self, c: Container) -> None:
        """Overlay addresses reserved in the cluster store (off the event loop), then
        ``net_prepare``; a failure gives the reservations back."""
        ov = self._overlay
        taken = await ov.reserve_for_start(c) if ov is not None else []
        try:
            self.net_prepare(c)
        except BaseException:
            if ov is not None:
                await ov.unreserve(c, taken)
            raise

    # --- connect / disconnect -----------------------------------------------------------
    async def network_connect(self, ref: str, body: Json) -> None:
        n = self._by_name(ref)
        c = self.find(str(body.get("Container") or ""))
        cfg = endpoint_request(body.get("EndpointConfig"))
        async with self.lock(c.id):
            await self._connect_locked(c, n, cfg)

    async def network_disconnect(self, ref: str, body: Json) -> None:
        n = self._by_name(ref)
        c = self.find(str(body.get("Container") or ""))
        async with self.lock(c.id):
            await self._disconnect_locked(c, n, bool(body.get("Force")))


def _match(n: Network, filters: dict[str, list[str]], containers: Any) -> bool:
    for key, vals in filters.items():
        if not vals:
            continue
        if key == "name" and not any(v in n["Name"] for v in vals):
            return False
        if key == "id" and not any(n["Id"].startswith(v) for v in vals):
            return False
        if key == "driver" and n["Driver"] not in vals:
            return False
        if key == "type":
            kind = "builtin" if n["Name"] in PREDEFINED else "custom"
            if kind not in vals:
                return False
        if key == "label" and not labels_match(n.get("Labels") or {}, vals):
            return False
        if key == "dangling":
            dangling = n["Name"] not in PREDEFINED and not containers(n)
            if (vals[0] in ("true", "1")) != dangling:
                return False
        if key not in ("name", "id", "driver", "type", "label", "dangling", "scope"):
            raise InvalidArgument(f"invalid filter '{key}'")
    return True
