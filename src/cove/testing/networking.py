"""``FakeNetworking``: the ``ContainerNetworking`` Protocol without netlink or nftables.

It hands out addresses from 10.99.0.0/16 in memory, records every call (``calls``) so a
test can check ordering and that each start's resources were released once, and fails the
step named in ``fail`` (once) with the given error.
"""

from __future__ import annotations

from cove.engine.record import Container
from cove.errors import CoveError, InvalidArgument
from cove.util.jsontypes import Json


class FakeNetworking:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail: dict[str, CoveError] = {}
        self.held: dict[str, str] = {}  # container id -> its address while prepared
        self._next = 2

    def _step(self, name: str, c: Container) -> None:
        self.calls.append((name, c.id))
        err = self.fail.pop(name, None)
        if err is not None:
            raise err

    def net_create_settings(self, hc: Json, body: Json) -> tuple[Json, list[str]]:
        mode = str(hc.get("NetworkMode") or "default")
        if mode not in ("none", "default", "bridge", "host"):
            raise InvalidArgument(f"network {mode} not found")
        nets: Json = {} if mode == "none" else {"bridge" if mode == "default" else mode: {}}
        return {"Networks": nets, "Ports": {}}, []

    async def net_prepare_async(self, c: Container) -> None:
        self._step("prepare", c)
        self.held[c.id] = f"10.99.{self._next // 256}.{self._next % 256}"
        self._next += 1

    async def net_attach(self, c: Container, pid: int) -> None:
        try:
            self._step("attach", c)
        except CoveError:
            self.held.pop(c.id, None)  # the contract: a failed attach released this start
            raise

    async def net_release(self, c: Container) -> None:
        self.calls.append(("release", c.id))
        self.held.pop(c.id, None)

    def net_hosts_entries(self, c: Container) -> list[str]:
        return []

    def net_embedded_dns(self, c: Container) -> bool:
        return False

    def net_link_env(self, c: Container) -> list[str]:
        return []
