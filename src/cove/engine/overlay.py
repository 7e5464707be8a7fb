"""Overlay networks: the engine's side of the cluster store (``cove.network.cluster``) and
the VXLAN driver (``cove.network.overlay``).

With ``cluster-store`` set, the daemon holds a lease in etcd, publishes an endpoint record
for every local container on an overlay network (under the lease, so a dead host's records
expire) and runs one watch over ``/cove/``: remote endpoints become forwarding/neighbour
entries on the VXLAN device and lines in the network's DNS record file, so names resolve on
every host.  When etcd is unreachable nothing already programmed is touched (containers stay
connected); changes that need the store fail with ``Unavailable``.

Every store request is a network round trip: it runs on the cluster's own small thread pool,
never on the event loop, so a slow or frozen etcd stalls only the operations that need it
(and cannot use up the default executor other engine work runs on).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from cove.engine.netconnect import ConnectOps
from cove.engine.netendpoints import Json, log
from cove.engine.record import Container
from cove.errors import Conflict, CoveError, Forbidden, InvalidArgument, Unavailable
from cove.network import firewall, ipam
from cove.network.cluster import store as S
from cove.network.cluster.etcd import Etcd, Event
from cove.network.overlay.driver import (
    VNI_OPTION,
    GatewayBridge,
    OverlayDriver,
    vni_for,
)
from cove.network.overlay.vxlan import VXLAN_PORT

DEFAULT_TTL = 20
T = TypeVar("T")


class _Cluster:
    def __init__(self, etcd: Etcd, vtep: str, driver: OverlayDriver, ttl: int) -> None:
        self.etcd = etcd
        self.vtep = vtep
        self.driver = driver
        self.ttl = ttl
        self.view = S.View()
        self.lease = 0
        self.mine: dict[str, dict[str, str]] = {}  # container id -> key -> value
        self.task: asyncio.Task[None] | None = None
        self.stopping = False
        # (container id, network id) -> address taken in the store, not yet in the record
        self.reserved: dict[tuple[str, str], str] = {}
        self.pool = ThreadPoolExecutor(4, thread_name_prefix="cove-etcd")

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` (a blocking store request) off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)


class OverlayOps(ConnectOps):
    _cl: _Cluster | None

    def _init_networks(self) -> None:
        super()._init_networks()
        self._cl = None
        o = self.net_options
        if not o.cluster_store:
            return
        adv = o.cluster_advertise.rsplit(":", 1)[0] if o.cluster_advertise else ""
        try:
            ipaddress.IPv4Address(adv)
            vtep = adv
        except ValueError:
            from cove.network.overlay import vxlan

            found = self._net_pool.submit(vxlan.address_of, adv).result() if adv else None
            if not found:
                raise InvalidArgument(
                    f"cluster-advertise {o.cluster_advertise!r}: give this host's underlay "
                    "address or an interface that has one"
                ) from None
            vtep = found
        opts = o.cluster_store_opts
        ttl = int(opts.get("discovery.ttl") or DEFAULT_TTL)
        nsdir = os.path.join(self.paths.exec_root, "network", "netns")
        driver = OverlayDriver(vtep, self._gateway_bridge(), nsdir)
        self._drivers["overlay"] = driver
        self._cl = _Cluster(Etcd(o.cluster_store), vtep, driver, max(ttl, 2))

    def _gateway_bridge(self) -> GatewayBridge:
        from cove.engine.networks import _proc_routes
        from cove.network import netlink

        name = "cove_gwbridge" if self._fw_table == "cove" else "cgw" + self._fw_table[5:]
        path = os.path.join(self.paths.exec_root, "network", "gwbridge.json")
        found = self._net_pool.submit(netlink.bridge_address, name).result()
        if found is not None:
            net = ipaddress.IPv4Network(f"{found[0]}/{found[1]}", False)
            gw = GatewayBridge(name, net, path=path)
            gw.load()
            return gw
        used = [ipam.parse_subnet(c["Subnet"]) for n in self.networks.values()
                for c in n["IPAM"]["Config"] or [] if c.get("Subnet")]  # fmt: skip
        pools = ipam.pools_from_config(self.net_options.default_address_pools)
        return GatewayBridge(name, ipam.pick_subnet(pools, used + _proc_routes()), path=path)

    def _cluster(self) -> _Cluster:
        if self._cl is None:
            raise Forbidden(
                'overlay networks need a cluster store: set "cluster-store" and '
                '"cluster-advertise" in daemon.json'
            )
        return self._cl

    def _leased(self) -> _Cluster:
        cl = self._cluster()
        if not cl.lease:
            raise Unavailable(f"cluster store {cl.etcd.url} is not reachable")
        return cl

    # --- network create / remove ----------------------------------------------------------
    async def _overlay_create(self, body: Json) -> Json:
        cl = self._leased()
        name = str(body.get("Name") or "")
        if any(n["Name"] == name for n in [*self.networks.values(), *cl.view.networks.values()]):
            raise Conflict(f"network with name {name} already exists")
        cfgs = [dict(c) for c in ((body.get("IPAM") or {}).get("Config") or []) if c.get("Subnet")]
        used = [ipam.parse_subnet(c["Subnet"])
                for n in [*self.networks.values(), *cl.view.networks.values()]
                for c in n["IPAM"]["Config"] or [] if c.get("Subnet")]  # fmt: skip
        if not cfgs:
            net = ipam.pick_subnet([("10.0.0.0/8", 24)], used)
            cfgs = [{"Subnet": str(net)}]
        cfg = cfgs[0]
        pool = ipam.Pool.from_config(
            cfg["Subnet"], cfg.get("Gateway") or "", cfg.get("IPRange") or ""
        )
        cfg["Subnet"], cfg["Gateway"] = str(pool.subnet), str(pool.gateway)
        if any(o.overlaps(pool.subnet) for o in used):
            raise Forbidden("Pool overlaps with other one on this address space")
        options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
        labels = {str(k): str(v) for k, v in (body.get("Labels") or {}).items()}
        n = self._new_record(
            name, "overlay", [cfg], options, labels, bool(body.get("Internal")),
            bool(body.get("Attachable")),
        )  # fmt: skip
        n["Scope"] = "global"
        n["Options"][VNI_OPTION] = str(vni_for(n["Id"]))
        # the name is claimed first, atomically: two hosts creating "appnet" at once get one
        if not await cl.call(cl.etcd.create, S.name_key(name), n["Id"]):
            raise Conflict(f"network with name {name} already exists")
        await cl.call(cl.etcd.create, S.net_key(n["Id"]), json.dumps(n))
        self._adopt(n)
        self.bus.emit("network", "create", n["Id"], {"name": name, "type": "overlay"})
        return {"Id": n["Id"], "Warning": ""}

    async def _overlay_remove(self, n: Json) -> None:
        cl = self._leased()
        if cl.view.endpoints.get(n["Id"]):
            raise Forbidden(
                f"error while removing network: network {n['Name']} id {n['Id']} has active "
                "endpoints"
            )
        await cl.call(cl.etcd.delete, S.net_key(n["Id"]))
        await cl.call(cl.etcd.delete, S.ip_key(n["Id"], ""), True)
        await cl.call(cl.etcd.delete, S.name_key(n["Name"]))

    def _adopt(self, n: Json) -> None:
        if n["Id"] not in self.networks:
            n = {k: v for k, v in n.items() if k != "_cove"}
            self.networks[n["Id"]] = n
            self._save_network(n)

    # --- addresses and endpoint records ---------------------------------------------------
    # An overlay address is taken cluster-wide (an etcd transaction) before the synchronous
    # allocation runs: ``net_prepare_async`` (start) and ``_connect_locked`` (connect) reserve
    # it off the event loop, ``_allocate`` then only records it, and a failure in between
    # gives the reservation back.
    async def _reserve(self, c: Container, n: Json, want: str) -> str:
        cl = self._leased()
        key = (c.id, n["Id"])
        if key in cl.reserved:
            return cl.reserved[key]
        cfg = n["IPAM"]["Config"][0]
        pool = ipam.Pool.from_config(cfg["Subnet"], cfg.get("Gateway", ""), cfg.get("IPRange", ""))
        lost: set[str] = set()  # taken by another host between our view and the store
        while True:
            # recomputed each round: other starts may have reserved while this one waited
            used = set(self._used_ips(n)) | cl.view.ips.get(n["Id"], set()) | lost
            used |= {ip for (_c, net), ip in cl.reserved.items() if net == n["Id"]}
            try:
                ip = str(pool.allocate(sorted(used), want, n["Name"]))
            except Conflict as e:
                raise Conflict(f"failed to set up container networking: {e.message}") from None
            if await cl.call(cl.etcd.create, S.ip_key(n["Id"], ip), cl.vtep, cl.lease):
                break
            if want:
                raise Conflict("failed to set up container networking: Address already in use")
            lost.add(ip)
        cl.reserved[key] = ip
        cl.mine.setdefault(c.id, {})[S.ip_key(n["Id"], ip)] = cl.vtep
        return ip

    async def _unreserve(self, c: Container, taken: list[tuple[str, str]]) -> None:
        """Give back addresses reserved for a start or connect that failed; never raises."""
        cl = self._cl
        if cl is None:
            return
        for net_id, ip in taken:
            cl.reserved.pop((c.id, net_id), None)
            key = S.ip_key(net_id, ip)
            mine = cl.mine.get(c.id, {})
            if mine.pop(key, None) is None:
                continue
            if not mine:
                cl.mine.pop(c.id, None)
            try:
                await cl.call(cl.etcd.delete, key)
            except Unavailable as e:  # it goes with the lease, or at the next session
                log.warning("container %s: releasing %s: %s", c.id[:12], ip, e)

    async def net_prepare_async(self, c: Container) -> None:
        taken: list[tuple[str, str]] = []
        try:
            if self._cl is not None:
                for n, ep in self._attached(c):
                    if n["Driver"] == "overlay":
                        want = str((ep.get("IPAMConfig") or {}).get("IPv4Address") or "")
                        taken.append((n["Id"], await self._reserve(c, n, want)))
            self.net_prepare(c)
        except BaseException:
            await self._unreserve(c, taken)
            raise

    async def _connect_locked(self, c: Container, n: Json, cfg: Json) -> None:
        nets = c.data["NetworkSettings"].get("Networks") or {}
        running = c.state.get("Running") and c.state.get("Pid")
        if n["Driver"] != "overlay" or self._cl is None or not running or n["Name"] in nets:
            await super()._connect_locked(c, n, cfg)
            return
        want = str((cfg.get("IPAMConfig") or {}).get("IPv4Address") or "")
        ip = await self._reserve(c, n, want)
        try:
            await super()._connect_locked(c, n, cfg)
        except BaseException:
            await self._unreserve(c, [(n["Id"], ip)])
            raise

    def _allocate(self, c: Container, n: Json, ep: Json, index: int) -> None:
        if n["Driver"] != "overlay":
            super()._allocate(c, n, ep, index)
            return
        cl = self._cluster()
        ip = cl.reserved.pop((c.id, n["Id"]), None)
        if ip is None:  # every caller reserves first; a new path that does not is a bug
            raise Unavailable(f"no address was reserved in the cluster store for {c.name}")
        # the base allocation then takes exactly the address reserved in the store
        saved = ep.get("IPAMConfig")
        ep["IPAMConfig"] = {"IPv4Address": ip}
        try:
            super()._allocate(c, n, ep, index)
        finally:
            ep["IPAMConfig"] = saved

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
            cl.pool.shutdown(wait=False)
            if not running:
                from cove.network import netlink

                for n in self.networks.values():
                    if n["Driver"] == "overlay":
                        await self._net_call(cl.driver.delete, self._netcfg(n))
                if cl.driver.gw is not None:
                    await self._net_call(netlink.delete_link, cl.driver.gw.name)
        await super().net_shutdown()

    async def _cluster_loop(self) -> None:
        from cove.engine.overlay_watch import run_cluster

        await run_cluster(self, self._cluster())

    async def _on_events(self, evs: list[Event]) -> None:
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
