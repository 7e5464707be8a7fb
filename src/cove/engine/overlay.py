"""Overlay networks: the engine's side of the cluster store (``cove.network.cluster``) and
the VXLAN driver (``cove.network.overlay``): networks created in the store, endpoint records
published under this host's lease, DNS records and forwarding entries from every host's
records, and the watch that keeps them current (``overlay_watch``).  The cluster connection
is ``overlay_base``'s, the cluster-wide addresses ``overlay_addr``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from typing import Any

from cove.engine.netendpoints import log
from cove.engine.overlay_addr import OverlayAddressOps
from cove.engine.overlay_cluster import Cluster
from cove.engine.overlay_watch import run_cluster
from cove.engine.record import Container
from cove.errors import Conflict, CoveError, Forbidden, Unavailable
from cove.network import firewall, ipam
from cove.network.cluster import store as S
from cove.network.cluster.etcd import Event
from cove.network.overlay.driver import VNI_OPTION, vni_for
from cove.network.overlay.vxlan import VXLAN_PORT
from cove.util.jsontypes import Json

_CLAIM_TRIES = 16  # subnets lost to other hosts' concurrent creates before giving up


class OverlayOps(OverlayAddressOps):
    # --- network create / remove ----------------------------------------------------------
    async def _overlay_create(self, body: Json) -> Json:
        cl = self._leased()
        name = str(body.get("Name") or "")
        if any(n["Name"] == name for n in [*self.networks.values(), *cl.view.networks.values()]):
            raise Conflict(f"network with name {name} already exists")
        given = [dict(c) for c in ((body.get("IPAM") or {}).get("Config") or []) if c.get("Subnet")]
        options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
        labels = {str(k): str(v) for k, v in (body.get("Labels") or {}).items()}
        lost: list[ipam.Subnet] = []  # subnets another host claimed under our feet
        for _ in range(_CLAIM_TRIES):
            used = [ipam.parse_subnet(c["Subnet"])
                    for n in [*self.networks.values(), *cl.view.networks.values()]
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
            n = self._new_record(
                name, "overlay", [cfg], options, labels, bool(body.get("Internal")),
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
        self.bus.emit("network", "create", n["Id"], {"name": name, "type": "overlay"})
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

    async def _overlay_remove(self, n: Json) -> None:
        cl = self._leased()
        if cl.view.endpoints.get(n["Id"]):
            raise Forbidden(
                f"error while removing network: network {n['Name']} id {n['Id']} has active "
                "endpoints"
            )
        keys = [S.net_key(n["Id"]), S.name_key(n["Name"])]
        keys += [S.subnet_key(c["Subnet"]) for c in n["IPAM"]["Config"] or [] if c.get("Subnet")]
        await cl.call(cl.etcd.delete_all, keys, [S.ip_key(n["Id"], "")])

    def _adopt(self, n: Json) -> None:
        if n["Id"] not in self.networks:
            n = {k: v for k, v in n.items() if k != "_cove"}
            self.networks[n["Id"]] = n
            self._save_network(n)

    def _remote_endpoints(self, n: Json) -> Json:
        """``network inspect``'s entries for the endpoints on other hosts, as Docker showed
        them with a cluster store: no local container to key them by, so ``ep-<endpoint
        id>``, with the container's name, endpoint id, MAC and address from the store."""
        cl = self._cl
        if cl is None or n["Driver"] != "overlay":
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
        cl = self._cl
        out: dict[str, str] = {}
        if cl is None:
            return out
        for n, ep in self._attached(c):
            if n["Driver"] != "overlay" or not ep.get("IPAddress"):
                continue
            rec = S.EndpointRecord(
                n["Id"], ep["EndpointID"], c.name, tuple(ep.get("DNSNames") or [c.name]),
                ep["IPAddress"], ep["MacAddress"], cl.vtep,
            )  # fmt: skip
            out[S.ep_key(n["Id"], rec.id)] = rec.to_json()
            out[S.ip_key(n["Id"], rec.ip)] = cl.vtep
        return out

    async def _sync_records(self, c: Container, want: dict[str, str]) -> None:
        cl = self._cl
        if cl is None or not cl.lease:
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

    async def _publish(self, c: Container, netns: str | None) -> None:
        await super()._publish(c, netns)
        await self._sync_records(c, self._records_of(c))

    async def net_release(self, c: Container) -> None:
        cl = self._cl
        if cl is not None:
            for n, ep in self._attached_safe(c):
                if n["Driver"] == "overlay" and ep.get("EndpointID"):
                    cl.driver.release(ep["EndpointID"])
        await super().net_release(c)
        await self._sync_records(c, {})

    def _write_records(self, n: Json) -> None:
        if n["Driver"] != "overlay" or self._cl is None:
            super()._write_records(n)
            return
        from cove.network.dns import write_records

        entries = []
        for c in self.containers.values():
            ep = (c.data["NetworkSettings"].get("Networks") or {}).get(n["Name"])
            if ep and ep.get("IPAddress"):
                entries.append((ep["IPAddress"], list(ep.get("DNSNames") or [c.name])))
        for rec in self._cl.view.remote(n["Id"], self._cl.vtep):
            entries.append((rec.ip, list(rec.names)))
        path = self._records_path(n)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_records(path, entries)

    def _plan(self) -> firewall.Plan:
        plan = super()._plan()
        cl = self._cl
        if cl is not None and cl.driver.gw is not None and cl.driver.gw.taken:
            gw = cl.driver.gw
            plan.bridges.append(firewall.BridgeRules(gw.name, str(gw.subnet), icc=False))
        if cl is not None:
            # the VXLAN packets are neither NATed nor filtered by state: tracking them would
            # only cost a conntrack lookup per packet, twice per host (the frames inside
            # never meet the host's hooks: their bridge has a namespace of its own)
            plan.notrack = firewall.NoTrack(cl.vtep, VXLAN_PORT)
        return plan

    # --- the store connection -------------------------------------------------------------
    async def net_restore(self) -> None:
        await super().net_restore()
        if self._cl is not None:
            gw = self._cl.driver.gw
            if gw is not None:
                gw.keep_only(
                    {ep.get("EndpointID") or "" for c in self.containers.values()
                     if c.state.get("Running") for _n, ep in self._attached_safe(c)}
                )  # fmt: skip
            self._cl.task = asyncio.get_running_loop().create_task(self._cluster_loop())

    async def net_shutdown(self) -> None:
        cl = self._cl
        running = any(c.state.get("Running") for c in self.containers.values())
        if cl is not None:
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

                for n in self.networks.values():
                    if n["Driver"] == "overlay":
                        await self._net_call(cl.driver.delete, self._netcfg(n))
                if cl.driver.gw is not None:
                    await self._net_call(netlink.delete_link, cl.driver.gw.name)
        await super().net_shutdown()

    async def _cluster_loop(self) -> None:
        await run_cluster(self, self._cluster())

    # --- what the store's watch loop calls (overlay_watch.ClusterMember) --------------------
    async def republish_all(self) -> None:
        """Every local endpoint record again, under the session's new lease."""
        for c in list(self.containers.values()):
            await self._sync_records(c, self._records_of(c))

    async def adopt_view(self, view: S.View) -> None:
        """A fresh read of the whole store: networks made elsewhere are adopted, overlay
        networks gone from it are forgotten, and every overlay is programmed again."""
        stale = set(self.networks) - set(view.networks)
        self._cluster().view = view
        for n in list(view.networks.values()):
            self._adopt(n)
        for net_id in stale:
            if self.networks[net_id]["Driver"] == "overlay":
                await self._forget(net_id)
        for net_id, n in list(self.networks.items()):
            if n["Driver"] == "overlay":
                await self._refresh(net_id)

    async def apply_events(self, evs: list[Event]) -> None:
        """Fold watch events in and bring devices, DNS records and networks up to date."""
        cl = self._cluster()
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
        cl = self._cluster()
        n = self.networks.get(net_id)
        if n is None:
            return
        want = {(r.mac, r.ip, r.vtep) for r in cl.view.remote(net_id, cl.vtep)}
        try:
            await self._net_call(cl.driver.program, net_id, want)
        except Exception as e:
            log.warning("programming overlay %s: %s", n["Name"], e)
        with contextlib.suppress(OSError):
            self._write_records(n)

    async def _forget(self, net_id: str) -> None:
        n = self.networks.get(net_id)
        if n is None or self._containers_of(n):
            return
        cl = self._cluster()
        with contextlib.suppress(Exception):
            await self._net_call(cl.driver.delete, self._netcfg(n))
        self.networks.pop(net_id, None)
        for path in (os.path.join(self._net_dir(), net_id + ".json"), self._records_path(n)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def _net_dir(self) -> str:  # networks.py
        raise NotImplementedError

    def _save_network(self, n: Json) -> None:  # networks.py
        raise NotImplementedError

    def _new_record(self, *a: Any, **kw: Any) -> Json:  # networks.py
        raise NotImplementedError

    def _containers_of(self, n: Json) -> Json:  # networks.py
        raise NotImplementedError
