"""The daemon's handle on the cluster store: the etcd client, this host's VTEP, the overlay
driver, the lease and the view of every host's records.

Every store request is a network round trip: ``call`` runs it on the cluster's own small
thread pool, never on the event loop, so a slow or frozen etcd stalls only the operations
that need it (and cannot use up the default executor other engine work runs on).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from cove.network.cluster import store as S
from cove.network.cluster.etcd import Etcd
from cove.network.overlay.driver import OverlayDriver
from cove.util.bridge import WorkerPool

T = TypeVar("T")


class Cluster:
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
        self.pool = WorkerPool(4, "cove-etcd")

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` (a blocking store request) off the event loop."""
        return await self.pool.call(fn, *args)
