"""Network routes: list, inspect, create, remove, connect, disconnect, prune."""

from __future__ import annotations

from cove.api.http import Handler, Reply, Request, Response, json_reply
from cove.engine.facade import EngineFacade
from cove.errors import InvalidArgument


async def list_networks(engine: EngineFacade, req: Request) -> Response:
    return json_reply(engine.network_list(req.filters()))


async def inspect(engine: EngineFacade, req: Request) -> Response:
    return json_reply(engine.network_inspect(req.params["id"], req.flag("verbose")))


async def create(engine: EngineFacade, req: Request) -> Response:
    body = await req.json_object()
    if not isinstance(body.get("Name", ""), str):
        raise InvalidArgument("invalid network name")
    return json_reply(await engine.network_create(body), 201)


async def remove(engine: EngineFacade, req: Request) -> Response:
    await engine.network_remove(req.params["id"])
    return Reply(204)


async def prune(engine: EngineFacade, req: Request) -> Response:
    return json_reply(await engine.network_prune(req.filters()))


async def connect(engine: EngineFacade, req: Request) -> Response:
    await engine.network_connect(req.params["id"], await req.json_object())
    return Reply(200)


async def disconnect(engine: EngineFacade, req: Request) -> Response:
    await engine.network_disconnect(req.params["id"], await req.json_object())
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
