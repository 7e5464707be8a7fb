"""What cove keeps in the cluster store, and a host's view of it.

Keys (all under ``/cove/``)::

    networks/<net-id>            the overlay network's inspect JSON (no lease: it outlives hosts)
    names/<name>                 the network id: claims the name atomically
    subnets/<a.b.c.d_len>        the network id: claims the subnet atomically
    ips/<net-id>/<ip>            an address taken, value = the VTEP of the host holding it
    endpoints/<net-id>/<ep-id>   an ``EndpointRecord`` as JSON
    hosts/<vtep>                 host membership

A network, its name and its subnet are written in one transaction that succeeds only when
none of the three keys exists, so two hosts creating at once never share a name or a
subnet, and a create that fails (store unreachable, timeout) leaves no claim.

``ips``, ``endpoints`` and ``hosts`` are written under the host's lease, so when a host dies
(stops refreshing) etcd deletes them and every watcher sees the deletions.  ``View`` is the
pure part: it folds a snapshot and then watch events into networks and endpoints.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from cove.network.cluster.etcd import Event
from cove.util.jsontypes import Json

ROOT = "/cove/"


def net_key(net_id: str) -> str:
    return f"{ROOT}networks/{net_id}"


def name_key(name: str) -> str:
    return f"{ROOT}names/{name}"


def subnet_key(subnet: str) -> str:
    return f"{ROOT}subnets/{subnet.replace('/', '_')}"


def ip_key(net_id: str, ip: str) -> str:
    return f"{ROOT}ips/{net_id}/{ip}"


def ep_key(net_id: str, ep_id: str) -> str:
    return f"{ROOT}endpoints/{net_id}/{ep_id}"


def host_key(vtep: str) -> str:
    return f"{ROOT}hosts/{vtep}"


@dataclass(frozen=True)
class EndpointRecord:
    network: str  # network id
    id: str  # endpoint id
    container: str  # container name
    names: tuple[str, ...]  # DNS names: name, short id, aliases
    ip: str
    mac: str
    vtep: str  # the underlay address of the host the container runs on

    def to_json(self) -> str:
        d = asdict(self)
        d["names"] = list(self.names)
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EndpointRecord:
        d = json.loads(text)
        return cls(
            str(d["network"]), str(d["id"]), str(d.get("container", "")),
            tuple(str(n) for n in d.get("names") or []), str(d["ip"]), str(d["mac"]),
            str(d["vtep"]),
        )  # fmt: skip


@dataclass
class View:
    """Networks and endpoints as last seen in the store."""

    networks: dict[str, Json] = field(default_factory=dict)
    endpoints: dict[str, dict[str, EndpointRecord]] = field(default_factory=dict)  # net -> ep
    ips: dict[str, set[str]] = field(default_factory=dict)  # net -> taken addresses
    hosts: set[str] = field(default_factory=set)

    def load(self, kvs: dict[str, str]) -> None:
        self.networks.clear()
        self.endpoints.clear()
        self.ips.clear()
        self.hosts.clear()
        for k, v in sorted(kvs.items()):
            self.apply(Event("PUT", k, v))

    def apply(self, ev: Event) -> tuple[str, str] | None:
        """Fold one change in; ("network"|"endpoint", net-id) of what changed, if anything."""
        if not ev.key.startswith(ROOT):
            return None
        parts = ev.key[len(ROOT) :].split("/")
        put = ev.kind != "DELETE"
        try:
            if parts[0] == "networks" and len(parts) == 2:
                if put:
                    self.networks[parts[1]] = json.loads(ev.value)
                else:
                    self.networks.pop(parts[1], None)
                return ("network", parts[1])
            if parts[0] == "endpoints" and len(parts) == 3:
                eps = self.endpoints.setdefault(parts[1], {})
                if put:
                    eps[parts[2]] = EndpointRecord.from_json(ev.value)
                else:
                    eps.pop(parts[2], None)
                return ("endpoint", parts[1])
            if parts[0] == "ips" and len(parts) == 3:
                taken = self.ips.setdefault(parts[1], set())
                (taken.add if put else taken.discard)(parts[2])
                return None
            if parts[0] == "hosts" and len(parts) == 2:
                (self.hosts.add if put else self.hosts.discard)(parts[1])
        except (ValueError, KeyError, TypeError):
            return None  # a record another version wrote: ignore rather than crash the watch
        return None

    def remote(self, net_id: str, vtep: str) -> list[EndpointRecord]:
        """The endpoints of ``net_id`` on other hosts than ``vtep``."""
        return [e for e in self.endpoints.get(net_id, {}).values() if e.vtep != vtep]
