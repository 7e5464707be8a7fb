"""Overlay networks: the engine's side of the cluster store (``cove.network.cluster``) and
the VXLAN driver (``cove.network.overlay``): networks created in the store, endpoint records
published under this host's lease, DNS records and forwarding entries from every host's
records, and the watch that keeps them current (``overlay_watch``).  The cluster connection
and what the overlay needs of the networks (``OverlayHost``) are ``overlay_base``'s, the
cluster-wide addresses ``overlay_addr``'s.  The network operations hold one ``Overlay``
(when a cluster store is set) and call it; it never inherits from them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Mapping

from cove.engine.networks.overlay_addr import OverlayAddresses
from cove.engine.networks.overlay_base import log
from cove.engine.networks.overlay_cluster import Cluster
from cove.engine.networks.overlay_watch import run_cluster
from cove.engine.networks.records import (
    Network,
    NetworkMember,
    endpoint_on,
    ipam_config,
    load_network,
)
from cove.engine.record import Container
from cove.errors import Conflict, CoveError, Forbidden, Unavailable
from cove.network import firewall, ipam
from cove.network.cluster import store as S
from cove.network.cluster.etcd import Event
from cove.network.overlay.driver import VNI_OPTION, vni_for
from cove.network.overlay.vxlan import VXLAN_PORT
from cove.util.jsontypes import Json

_CLAIM_TRIES = 16  # subnets lost to other hosts' concurrent creates before giving up


class Overlay(OverlayAddresses):
    """The overlay networks' side of create, remove, inspect, publish, release, the firewall
    plan, restore and shutdown, and the store's watch (``overlay_watch.ClusterMember``)."""

    # --- network create / remove ----------------------------------------------------------
    async def create(self, body: Json) -> Json:
        cl = self.leased()
        name = str(body.get("Name") or "")
        known = [*self.host.networks.values(), *cl.view.networks.values()]
        if any(n["Name"] == name for n in known):
            raise Conflict(f"network with name {name} already exists")
        given = [dict(c) for c in ((body.get("IPAM") or {}).get("Config") or []) if c.get("Subnet")]
        options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
        labels = {str(k): str(v) for k, v in (body.get("Labels") or {}).items()}
        lost: list[ipam.Subnet] = []  # subnets another host claimed under our feet
        for _ in range(_CLAIM_TRIES):
            used = [ipam.parse_subnet(c["Subnet"])
                    for n in [*self.host.networks.values(), *cl.view.networks.values()]
                    for c in n["IPAM"]["Config"] or [] if c.get("Subnet")] + lost  # fmt: skip
            cfg = dict(given[0]) if given else {}
            if not given:
                cfg["Subnet"] = str(ipam.pick_subnet([("10.0.0.0/8", 24)], used))
            pool = ipam.Pool.from_config(
                cfg["Subnet"], cfg.get("Gateway") or "", cfg.get("IPRange") or ""
            )
            cfg["Subnet"], cfg["Gateway"] = str(pool.subnet), str(pool.gateway)
            if ipam.overlaps(pool.subnet, used):
                raise Forbidden("Pool overlaps with other one on this address space")
            n = self.host._new_record(
                name, "overlay", [ipam_config(cfg)], options, labels, bool(body.get("Internal")),
                bool(body.get("Attachable")),
            )  # fmt: skip
            n["Scope"] = "global"
            n["Options"][VNI_OPTION] = str(vni_for(n["Id"]))
            # name, subnet and network in one all-or-nothing transaction: two hosts creating
            # at once get one each, and a failed request leaves no claim in the store
            claims = {
                S.name_key(name): n["Id"],
                S.subnet_key(cfg["Subnet"]): n["Id"],
                S.net_key(n["Id"]): json.dumps(n),
            }
            if await self._claim(cl, claims, S.net_key(n["Id"])):
                break
            if await self._drop_stale(cl, S.name_key(name)):
                continue
            if await cl.call(cl.etcd.get, S.name_key(name)) is not None:
                raise Conflict(f"network with name {name} already exists")
            if await self._drop_stale(cl, S.subnet_key(cfg["Subnet"])):
                continue
            if given:
                raise Forbidden("Pool overlaps with other one on this address space")
            lost.append(pool.subnet)
        else:
            raise Unavailable(f"cluster store {cl.etcd.url}: no free subnet could be claimed")
        self._adopt(n)
        self.host.bus.emit("network", "create", n["Id"], {"name": name, "type": "overlay"})
        return {"Id": n["Id"], "Warning": ""}

    async def _claim(self, cl: Cluster, claims: dict[str, str], net_key: str) -> bool:
        """The create's transaction; when its answer is lost (a timeout) the store is asked
        whether it went through, so a network that was made is not reported as failed."""
        try:
            return bool(await cl.call(cl.etcd.create_all, claims))
        except Unavailable:
            if await cl.call(cl.etcd.get, net_key) == claims[net_key]:
                return True
            raise

    async def _drop_stale(self, cl: Cluster, key: str) -> bool:
        """A name or subnet claim whose network is not in the store (left by a create of an
        older version that failed half way) is deleted; True when one was."""
        holder = await cl.call(cl.etcd.get, key)
        if holder is None or await cl.call(cl.etcd.get, S.net_key(holder)) is not None:
            return False
        log.warning("dropping stale cluster-store claim %s (network %s is gone)", key, holder)
        return bool(await cl.call(cl.etcd.delete_if, key, holder))

    async def remove(self, n: Network) -> None:
        cl = self.leased()
        if cl.view.endpoints.get(n["Id"]):
            raise Forbidden(
                f"error while removing network: network {n['Name']} id {n['Id']} has active "
                "endpoints"
            )
        keys = [S.net_key(n["Id"]), S.name_key(n["Name"])]
        keys += [S.subnet_key(c["Subnet"]) for c in n["IPAM"]["Config"] or [] if c.get("Subnet")]
        await cl.call(cl.etcd.delete_all, keys, [S.ip_key(n["Id"], "")])

    def _adopt(self, raw: Mapping[str, object]) -> None:
        """A network of the store (a record another host, or this one, wrote there)."""
        if raw.get("Id") not in self.host.networks:
            n = load_network({k: v for k, v in raw.items() if k != "_cove"})
            self.host.networks[n["Id"]] = n
            self.host._save_network(n)

    def remote_endpoints(self, n: Network) -> dict[str, NetworkMember]:
        """``network inspect``'s entries for the endpoints on other hosts, as Docker showed
        them with a cluster store: no local container to key them by, so ``ep-<endpoint
        id>``, with the container's name, endpoint id, MAC and address from the store."""
        cl = self.cl
        if n["Driver"] != "overlay":
            return {}
        prefix = ipam.parse_subnet(n["IPAM"]["Config"][0]["Subnet"]).prefixlen
        return {
            "ep-" + r.id: {
                "Name": r.container,
                "EndpointID": r.id,
                "MacAddress": r.mac,
                "IPv4Address": f"{r.ip}/{prefix}",
                "IPv6Address": "",
            }
            for r in sorted(cl.view.remote(n["Id"], cl.vtep), key=lambda r: r.container)
        }

    def _records_of(self, c: Container) -> dict[str, str]:
        cl = self.cl
        out: dict[str, str] = {}
        for n, ep in self.host._attached(c):
            if n["Driver"] != "overlay" or not ep.get("IPAddress"):
                continue
            rec = S.EndpointRecord(
                n["Id"], ep["EndpointID"], c.name, tuple(ep.get("DNSNames") or [c.name]),
                ep["IPAddress"], ep["MacAddress"], cl.vtep,
            )  # fmt: skip
            out[S.ep_key(n["Id"], rec.id)] = rec.to_json()
            out[S.ip_key(n["Id"], rec.ip)] = cl.vtep
        return out

    async def sync_records(self, c: Container, want: dict[str, str]) -> None:
        cl = self.cl
        if not cl.lease:
            return  # published when the store session (re)starts
        have = cl.mine.get(c.id, {})
        if want == have:
            return
        try:
            for k in have.keys() - want.keys():
                await cl.call(cl.etcd.delete, k)
            for k, v in want.items():
                if have.get(k) != v:
                    await cl.call(cl.etcd.put, k, v, cl.lease)
        except Unavailable as e:
            log.warning("container %s: %s (republished when the store is back)", c.id[:12], e)
            return
        if want:
            cl.mine[c.id] = want
        else:
            cl.mine.pop(c.id, None)

    async def publish(self, c: Container) -> None:
        """After ``c``'s endpoints changed (and its records, DNS and rules with them)."""
        await self.sync_records(c, self._records_of(c))

    def release_endpoints(self, c: Container) -> None:
        """First step of a release: the driver's hold on ``c``'s overlay endpoints."""
        for n, ep in self.host._attached_safe(c):
            if n["Driver"] == "overlay" and ep.get("EndpointID"):
                self.cl.driver.release(ep["EndpointID"])

    def write_records(self, n: Network) -> None:
        """Overlay ``n``'s DNS records: local containers and every other host's."""
        from cove.network.dns import write_records

        entries = []
        for c in self.host.containers.values():
            ep = endpoint_on(c, n["Name"])
            if ep and ep.get("IPAddress"):
                entries.append((ep["IPAddress"], list(ep.get("DNSNames") or [c.name])))
        for rec in self.cl.view.remote(n["Id"], self.cl.vtep):
            entries.append((rec.ip, list(rec.names)))
        path = self.host._records_path(n)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_records(path, entries)

    def add_rules(self, plan: firewall.Plan) -> None:
        cl = self.cl
        if cl.driver.gw is not None and cl.driver.gw.taken:
            gw = cl.driver.gw
            plan.bridges.append(firewall.BridgeRules(gw.name, str(gw.subnet), icc=False))
        # the VXLAN packets are neither NATed nor filtered by state: tracking them would
        # only cost a conntrack lookup per packet, twice per host (the frames inside
        # never meet the host's hooks: their bridge has a namespace of its own)
        plan.notrack = firewall.NoTrack(cl.vtep, VXLAN_PORT)

    # --- the store connection -------------------------------------------------------------
    def restore(self) -> None:
        """After the networks' restore: the gateway bridge keeps the running containers'
        endpoints, and the store's watch loop starts."""
        gw = self.cl.driver.gw
        if gw is not None:
            gw.keep_only(
                {ep.get("EndpointID") or "" for c in self.host.containers.values()
                 if c.state.get("Running") for _n, ep in self.host._attached_safe(c)}
            )  # fmt: skip
        self.cl.task = asyncio.get_running_loop().create_task(run_cluster(self, self.cl))

    async def shutdown(self) -> None:
        """Before the networks' shutdown: the watch ends; with no container running the
        host's records go from the store and the overlay devices from the kernel."""
        cl = self.cl
        running = any(c.state.get("Running") for c in self.host.containers.values())
        cl.stopping = True
        if cl.task is not None:
            cl.task.cancel()
            with contextlib.suppress(BaseException):
                await cl.task
        if cl.lease and not running:
            with contextlib.suppress(CoveError):  # the host leaves: its records go now
                await cl.call(cl.etcd.revoke, cl.lease)
        cl.pool.shutdown()
        if not running:
            from cove.network import netlink

            for n in self.host.networks.values():
                if n["Driver"] == "overlay":
                    await self.host._net_call(cl.driver.delete, self.host._netcfg(n))
            if cl.driver.gw is not None:
                await self.host._net_call(netlink.delete_link, cl.driver.gw.name)

    # --- what the store's watch loop calls (overlay_watch.ClusterMember) --------------------
    async def republish_all(self) -> None:
        """Every local endpoint record again, under the session's new lease."""
        for c in list(self.host.containers.values()):
            await self.sync_records(c, self._records_of(c))

    async def adopt_view(self, view: S.View) -> None:
        """A fresh read of the whole store: networks made elsewhere are adopted, overlay
        networks gone from it are forgotten, and every overlay is programmed again."""
        stale = set(self.host.networks) - set(view.networks)
        self.cl.view = view
        for raw in list(view.networks.values()):
            self._adopt(raw)
        for net_id in stale:
            if self.host.networks[net_id]["Driver"] == "overlay":
                await self._forget(net_id)
        for net_id, n in list(self.host.networks.items()):
            if n["Driver"] == "overlay":
                await self._refresh(net_id)

    async def apply_events(self, evs: list[Event]) -> None:
        """Fold watch events in and bring devices, DNS records and networks up to date."""
        cl = self.cl
        nets: set[str] = set()
        for ev in evs:
            hit = cl.view.apply(ev)
            if hit is None:
                continue
            kind, net_id = hit
            if kind == "network":
                if net_id in cl.view.networks:
                    self._adopt(cl.view.networks[net_id])
                else:
                    await self._forget(net_id)
            else:
                nets.add(net_id)
        for net_id in nets:
            await self._refresh(net_id)

    async def _refresh(self, net_id: str) -> None:
        cl = self.cl
        n = self.host.networks.get(net_id)
        if n is None:
            return
        want = {(r.mac, r.ip, r.vtep) for r in cl.view.remote(net_id, cl.vtep)}
        try:
            await self.host._net_call(cl.driver.program, net_id, want)
        except Exception as e:
            log.warning("programming overlay %s: %s", n["Name"], e)
        with contextlib.suppress(OSError):
            self.write_records(n)

    async def _forget(self, net_id: str) -> None:
        n = self.host.networks.get(net_id)
        if n is None or self.host._containers_of(n):
            return
        cl = self.cl
        with contextlib.suppress(Exception):
            await self.host._net_call(cl.driver.delete, self.host._netcfg(n))
        self.host.networks.pop(net_id, None)
        record = os.path.join(self.host._net_dir(), net_id + ".json")
        for path in (record, self.host._records_path(n)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
