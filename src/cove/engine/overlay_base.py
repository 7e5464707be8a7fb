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

import ipaddress
import os

from cove.engine.netconnect import ConnectOps
from cove.engine.overlay_cluster import Cluster
from cove.errors import Forbidden, InvalidArgument, Unavailable
from cove.network import ipam
from cove.network.cluster.etcd import Etcd
from cove.network.hostroutes import proc_routes
from cove.network.overlay.driver import (
    GatewayBridge,
    OverlayDriver,
)

DEFAULT_TTL = 20


class OverlayBase(ConnectOps):
    """The cluster connection and the overlay driver, set up with the networks."""

    _cl: Cluster | None

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
        self._cl = Cluster(Etcd(o.cluster_store), vtep, driver, max(ttl, 2))

    def _gateway_bridge(self) -> GatewayBridge:
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
        return GatewayBridge(name, ipam.pick_subnet(pools, used + proc_routes()), path=path)

    def _cluster(self) -> Cluster:
        if self._cl is None:
            raise Forbidden(
                'overlay networks need a cluster store: set "cluster-store" and '
                '"cluster-advertise" in daemon.json'
            )
        return self._cl

    def _leased(self) -> Cluster:
        cl = self._cluster()
        if not cl.lease:
            raise Unavailable(f"cluster store {cl.etcd.url} is not reachable")
        return cl
