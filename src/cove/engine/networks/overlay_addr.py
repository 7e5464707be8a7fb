"""Overlay addresses: taken cluster-wide (an etcd transaction) before a start or connect.

``reserve_for_start`` (start) and ``reserve_for_connect`` (connect) reserve the address off
the event loop, the allocation then only records it (``take_reserved``), and a failure in
between gives the reservation back (``unreserve``), so no address is held in the store for a
container that did not start.
"""

from __future__ import annotations

from cove.engine.networks.overlay_base import OverlayBase, log
from cove.engine.networks.records import EndpointSettings, Network, endpoints
from cove.engine.record import Container
from cove.errors import Conflict, Unavailable
from cove.network import ipam
from cove.network.cluster import store as S


class OverlayAddresses(OverlayBase):
    async def _reserve(self, c: Container, n: Network, want: str) -> str:
        cl = self.leased()
        key = (c.id, n["Id"])
        if key in cl.reserved:
            return cl.reserved[key]
        cfg = n["IPAM"]["Config"][0]
        pool = ipam.Pool.from_config(cfg["Subnet"], cfg.get("Gateway", ""), cfg.get("IPRange", ""))
        lost: set[str] = set()  # taken by another host between our view and the store
        while True:
            # recomputed each round: other starts may have reserved while this one waited
            used = set(self.host._used_ips(n)) | cl.view.ips.get(n["Id"], set()) | lost
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

    async def unreserve(self, c: Container, taken: list[tuple[str, str]]) -> None:
        """Give back addresses reserved for a start or connect that failed; never raises."""
        cl = self.cl
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

    async def reserve_for_start(self, c: Container) -> list[tuple[str, str]]:
        """An address in the store for each overlay network of ``c``; all or none."""
        taken: list[tuple[str, str]] = []
        try:
            for n, ep in self.host._attached(c):
                if n["Driver"] == "overlay":
                    want = str((ep.get("IPAMConfig") or {}).get("IPv4Address") or "")
                    taken.append((n["Id"], await self._reserve(c, n, want)))
        except BaseException:
            await self.unreserve(c, taken)
            raise
        return taken

    async def reserve_for_connect(
        self, c: Container, n: Network, cfg: EndpointSettings
    ) -> list[tuple[str, str]]:
        """The address a connect of running ``c`` to overlay ``n`` takes; nothing otherwise
        (a stopped container reserves at its start)."""
        nets = endpoints(c)
        running = c.state.get("Running") and c.state.get("Pid")
        if n["Driver"] != "overlay" or not running or n["Name"] in nets:
            return []
        want = str((cfg.get("IPAMConfig") or {}).get("IPv4Address") or "")
        return [(n["Id"], await self._reserve(c, n, want))]

    def take_reserved(self, c: Container, n: Network) -> str:
        """The address reserved for ``c`` on ``n``, which the allocation then records."""
        ip = self.cl.reserved.pop((c.id, n["Id"]), None)
        if ip is None:  # every caller reserves first; a new path that does not is a bug
            raise Unavailable(f"no address was reserved in the cluster store for {c.name}")
        return ip
