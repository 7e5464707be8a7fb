"""Network routes: list, inspect, create, remove, connect, disconnect, prune."""

from __future__ import annotations

from typing import Protocol, cast

from cove.api.http import Handler, Reply, Request, Response, json_reply
from cove.engine.facade import EngineFacade
from cove.errors import InvalidArgument, NotImplementedYet
from cove.util.jsontypes import Json


class NetworkFacade(Protocol):
    """The engine's network operations (engine/networks.py)."""

    def network_list(self, filters: dict[str, list[str]]) -> list[Json]: ...

    def network_inspect(self, ref: str, verbose: bool = False) -> Json: ...

    async def network_create(self, body: Json) -> Json: ...

    async def network_remove(self, ref: str) -> None: ...

    async def network_prune(self, filters: dict[str, list[str]]) -> Json: ...

    async def network_connect(self, ref: str, body: Json) -> None: ...

    async def network_disconnect(self, ref: str, body: Json) -> None: ...


def _net(engine: EngineFacade) -> NetworkFacade:
    if not hasattr(engine, "network_list"):
        raise NotImplementedYet("networks are not available in this engine")
    return cast(NetworkFacade, engine)


async def list_networks(engine: EngineFacade, req: Request) -> Response:
    return json_reply(_net(engine).network_list(req.filters()))


async def inspect(engine: EngineFacade, req: Request) -> Response:
    return json_reply(_net(engine).network_inspect(req.params["id"], req.flag("verbose")))


async def create(engine: EngineFacade, req: Request) -> Response:
    body = await req.json_object()
    if not isinstance(body.get("Name", ""), str):
        raise InvalidArgument("invalid network name")
    return json_reply(await _net(engine).network_create(body), 201)


async def remove(engine: EngineFacade, req: Request) -> Response:
    await _net(engine).network_remove(req.params["id"])
    return Reply(204)


async def prune(engine: EngineFacade, req: Request) -> Response:
    return json_reply(await _net(engine).network_prune(req.filters()))


async def connect(engine: EngineFacade, req: Request) -> Response:
    await _net(engine).network_connect(req.params["id"], await req.json_object())
    return Reply(200)


async def disconnect(engine: EngineFacade, req: Request) -> Response:
    await _net(engine).network_disconnect(req.params["id"], await req.json_object())
    return Reply(200)


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/networks", list_networks),
    ("POST", "/networks/create", create),
    ("POST", "/networks/prune", prune),
    ("GET", "/networks/{id}", inspect),
    ("DELETE", "/networks/{id}", remove),
    ("POST", "/networks/{id}/connect", connect),
    ("POST", "/networks/{id}/disconnect", disconnect),
]
