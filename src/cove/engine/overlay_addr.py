"""Overlay addresses: taken cluster-wide (an etcd transaction) before a start or connect.

``net_prepare_async`` (start) and ``_connect_locked`` (connect) reserve the address off the
event loop, ``_allocate`` then only records it, and a failure in between gives the
reservation back, so no address is held in the store for a container that did not start.
"""

from __future__ import annotations

from cove.engine.netendpoints import log
from cove.engine.overlay_base import OverlayBase
from cove.engine.record import Container
from cove.errors import Conflict, Unavailable
from cove.network import ipam
from cove.network.cluster import store as S
from cove.util.jsontypes import Json


class OverlayAddressOps(OverlayBase):
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
