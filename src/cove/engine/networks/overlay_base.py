"""Overlay networks: the engine's side of the cluster store (``cove.network.cluster``) and
the VXLAN driver (``cove.network.overlay``).

With ``cluster-store`` set, the daemon holds a lease in etcd, publishes an endpoint record
for every local container on an overlay network (under the lease, so a dead host's records
expire) and runs one watch over ``/cove/``: remote endpoints become forwarding/neighbour
entries on the VXLAN device and lines in the network's DNS record file, so names resolve on
every host.  When etcd is unreachable nothing already programmed is touched (containers stay
connected); changes that need the store fail with ``Unavailable``.

The overlay is an object the network operations hold (``_overlay``, None without a cluster
store), not a base class of them: it reaches the networks only through ``OverlayHost``, and
the network operations call it at named points (publish, release, allocate, plan, restore,
shutdown).

Every store request is a network round trip: it runs on the cluster's own small thread pool,
never on the event loop, so a slow or frozen etcd stalls only the operations that need it
(and cannot use up the default executor other engine work runs on).
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar

from cove.engine.base import Paths
from cove.engine.events import EventBus
from cove.engine.networks.overlay_cluster import Cluster
from cove.engine.networks.records import (
    EndpointSettings,
    IPAMConfig,
    Network,
    NetworkMember,
)
from cove.engine.record import Container
from cove.errors import InvalidArgument, Unavailable
from cove.network import ipam
from cove.network.base import NetConfig, NetOptions
from cove.network.cluster.etcd import Etcd
from cove.network.hostroutes import proc_routes
from cove.network.overlay.driver import GatewayBridge, OverlayDriver
from cove.util.bridge import WorkerPool

DEFAULT_TTL = 20
T = TypeVar("T")
log = logging.getLogger("cove.network")  # the network operations' logger


class OverlayHost(Protocol):
    """What the overlay needs of the network operations that hold it."""

    paths: Paths
    bus: EventBus
    networks: dict[str, Network]
    net_options: NetOptions

    @property
    def containers(self) -> dict[str, Container]: ...

    async def _net_call(self, fn: Callable[..., T], *args: Any) -> T: ...

    def _netcfg(self, n: Network) -> NetConfig: ...

    def _records_path(self, n: Network) -> str: ...

    def _used_ips(
        self, n: Network, key: Literal["IPAddress", "GlobalIPv6Address"] = "IPAddress"
    ) -> list[str]: ...

    def _attached(
        self, c: Container, strict: bool = False
    ) -> list[tuple[Network, EndpointSettings]]: ...

    def _attached_safe(self, c: Container) -> list[tuple[Network, EndpointSettings]]: ...

    def _net_dir(self) -> str: ...

    def _save_network(self, n: Network) -> None: ...

    def _new_record(
        self,
        name: str,
        driver: str,
        ipam_cfg: list[IPAMConfig],
        options: dict[str, str],
        labels: dict[str, str],
        internal: bool,
        attachable: bool = False,
    ) -> Network: ...

    def _containers_of(self, n: Network) -> dict[str, NetworkMember]: ...


def connect_cluster(
    host: OverlayHost, pool: WorkerPool, fw_table: str
) -> tuple[OverlayDriver, Cluster] | None:
    """The overlay driver and the cluster handle, when ``cluster-store`` is set."""
    o = host.net_options
    if not o.cluster_store:
        return None
    adv = o.cluster_advertise.rsplit(":", 1)[0] if o.cluster_advertise else ""
    try:
        ipaddress.IPv4Address(adv)
        vtep = adv
    except ValueError:
        from cove.network.overlay import vxlan

        found = pool.submit(vxlan.address_of, adv).result() if adv else None
        if not found:
            raise InvalidArgument(
                f"cluster-advertise {o.cluster_advertise!r}: give this host's underlay "
                "address or an interface that has one"
            ) from None
        vtep = found
    ttl = int(o.cluster_store_opts.get("discovery.ttl") or DEFAULT_TTL)
    nsdir = os.path.join(host.paths.exec_root, "network", "netns")
    driver = OverlayDriver(vtep, _gateway_bridge(host, pool, fw_table), nsdir)
    return driver, Cluster(Etcd(o.cluster_store), vtep, driver, max(ttl, 2))


def _gateway_bridge(host: OverlayHost, pool: WorkerPool, fw_table: str) -> GatewayBridge:
    from cove.network import netlink

    name = "cove_gwbridge" if fw_table == "cove" else "cgw" + fw_table[5:]
    path = os.path.join(host.paths.exec_root, "network", "gwbridge.json")
    found = pool.submit(netlink.bridge_address, name).result()
    if found is not None:
        net = ipaddress.IPv4Network(f"{found[0]}/{found[1]}", False)
        gw = GatewayBridge(name, net, path=path)
        gw.load()
        return gw
    used = [ipam.parse_subnet(c["Subnet"]) for n in host.networks.values()
            for c in n["IPAM"]["Config"] or [] if c.get("Subnet")]  # fmt: skip
    pools = ipam.pools_from_config(host.net_options.default_address_pools)
    return GatewayBridge(name, ipam.pick_subnet(pools, used + proc_routes()), path=path)


class OverlayBase:
    """The cluster handle and the network operations it serves."""

    def __init__(self, host: OverlayHost, cl: Cluster) -> None:
        self.host = host
        self.cl = cl

    def leased(self) -> Cluster:
        if not self.cl.lease:
            raise Unavailable(f"cluster store {self.cl.etcd.url} is not reachable")
        return self.cl
