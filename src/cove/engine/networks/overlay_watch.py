"""The daemon's connection to the cluster store: lease, membership, snapshot, watch.

One loop per daemon: grant a lease, register the host, (re)publish every local endpoint,
read the whole ``/cove/`` prefix, then follow the watch from the next revision while a
keepalive refreshes the lease.  Any failure (etcd gone, lease expired) drops back to the
top after a pause; programmed devices are left alone meanwhile, so containers stay
connected while the store is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from typing import Protocol

from cove.engine.networks.overlay_cluster import Cluster
from cove.errors import CoveError, Unavailable
from cove.network.cluster import store as S
from cove.network.cluster.etcd import Event
from cove.util.bridge import ToLoop

log = logging.getLogger("cove.network")  # the network operations' logger


class ClusterMember(Protocol):
    """What the loop needs of the network side (the overlay operations implement it)."""

    async def republish_all(self) -> None: ...

    async def adopt_view(self, view: S.View) -> None: ...

    async def apply_events(self, evs: list[Event]) -> None: ...


async def run_cluster(eng: ClusterMember, cl: Cluster) -> None:
    while not cl.stopping:
        try:
            await _session(eng, cl)
        except asyncio.CancelledError:
            raise
        except CoveError as e:
            log.warning("cluster store: %s; retrying", e)
        except Exception:
            log.exception("cluster store session")
        cl.lease = 0
        await asyncio.sleep(1)


async def _session(eng: ClusterMember, cl: Cluster) -> None:
    etcd = cl.etcd
    lease = await cl.call(etcd.grant, cl.ttl)
    host = json.dumps({"vtep": cl.vtep})
    await cl.call(etcd.put, S.host_key(cl.vtep), host, lease)
    cl.lease = lease
    # a new lease: every local record again (the old ones expired with the old lease)
    cl.mine.clear()
    await eng.republish_all()
    kvs, rev = await cl.call(etcd.get_prefix, S.ROOT)
    view = S.View()
    view.load(kvs)
    await eng.adopt_view(view)
    log.info("cluster store %s: joined as %s", etcd.url, cl.vtep)

    # the watch's batches cross from its thread through the bridge's bounded channel: a
    # slow loop slows the watch (etcd keeps the rest), and the thread ends at its next
    # batch once this session is over
    channel: ToLoop[list[Event]] = ToLoop(64)
    watch = etcd.watch(S.ROOT, rev + 1)

    def follow() -> None:
        try:
            for batch in watch:
                channel.put(batch)
        except BrokenPipeError:  # the session ended
            return
        except Exception as e:  # reported to the loop, which restarts
            log.warning("cluster store watch: %s", e)
        channel.finish()

    async def keepalive() -> None:
        while True:
            await asyncio.sleep(max(cl.ttl / 3, 0.5))
            try:
                left = await cl.call(etcd.keepalive, lease)
            except Unavailable as e:
                log.warning("cluster store keepalive: %s", e)
                continue  # keep trying until the lease would have expired anyway
            if left <= 0:
                channel.finish(Unavailable(f"cluster store {etcd.url}: the lease expired"))
                return

    t = threading.Thread(target=follow, name="cove-etcd-watch", daemon=True)
    t.start()
    ka = asyncio.get_running_loop().create_task(keepalive())
    try:
        while True:
            more, batch = await channel.get()
            if not more or batch is None:
                raise Unavailable(f"cluster store {etcd.url}: connection lost")
            await eng.apply_events(batch)
    finally:
        ka.cancel()
        channel.cancel()
        watch.close()
        with contextlib.suppress(BaseException):
            await ka
