"""What the container side of the engine asks of networking: one Protocol.

Create, start, exit and remove call these and nothing else of the network family; the
engine holds the implementation as ``engine.net`` (the network operations in daemon use, a
fake in unit tests: ``cove.testing.FakeNetworking``).  Contracts:

- ``create_settings`` validates the requested mode and returns the record's initial
  ``NetworkSettings`` plus warnings; it performs nothing.
- ``prepare`` reserves addresses and host ports for a start (raises with Docker's words,
  e.g. a port taken) and gives back what it took when it fails.
- ``attach`` puts interfaces into the new namespace of ``pid``; on failure it has released
  everything of this start.
- ``release`` frees addresses, ports, interfaces and rules; idempotent, never raises.
- ``hosts_entries``, ``embedded_dns``, ``link_env`` feed the container's /etc files and env.
"""

from __future__ import annotations

from typing import Protocol

from cove.engine.record import Container
from cove.util.jsontypes import Json


class ContainerNetworking(Protocol):
    def net_create_settings(self, hc: Json, body: Json) -> tuple[Json, list[str]]: ...

    async def net_prepare_async(self, c: Container) -> None: ...

    async def net_attach(self, c: Container, pid: int) -> None: ...

    async def net_release(self, c: Container) -> None: ...

    def net_hosts_entries(self, c: Container) -> list[str]: ...

    def net_embedded_dns(self, c: Container) -> bool: ...

    def net_link_env(self, c: Container) -> list[str]: ...


class NoNetworking:
    """Containers with no networking at all (loopback only): what an engine holds until
    it is given the network service."""

    def net_create_settings(self, hc: Json, body: Json) -> tuple[Json, list[str]]:
        return {"Networks": {}, "Ports": {}}, []

    async def net_prepare_async(self, c: Container) -> None:
        return None

    async def net_attach(self, c: Container, pid: int) -> None:
        return None

    async def net_release(self, c: Container) -> None:
        return None

    def net_hosts_entries(self, c: Container) -> list[str]:
        return []

    def net_embedded_dns(self, c: Container) -> bool:
        return False

    def net_link_env(self, c: Container) -> list[str]:
        return []
