"""Volume routes: create, list, inspect, remove, prune."""

from __future__ import annotations

from cove.api.http import Handler, Request, Response, json_reply, no_content
from cove.engine.facade import EngineFacade
from cove.errors import InvalidArgument


async def create(engine: EngineFacade, req: Request) -> Response:
    body = await req.json_object()
    for key in ("DriverOpts", "Labels"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise InvalidArgument(f"invalid {key}: expected an object")
    return json_reply(await engine.volume_create(body), 201)


async def list_volumes(engine: EngineFacade, req: Request) -> Response:
    return json_reply(engine.volume_list(req.filters()))


async def inspect(engine: EngineFacade, req: Request) -> Response:
    return json_reply(engine.volume_inspect(req.params["name"]))


async def remove(engine: EngineFacade, req: Request) -> Response:
    await engine.volume_remove(req.params["name"], req.flag("force"))
    return no_content()


async def prune(engine: EngineFacade, req: Request) -> Response:
    # Before API 1.42 prune took every unused volume; since then only anonymous ones
    # unless the "all" filter says otherwise.
    all_volumes = not req.version_at_least(1, 42)
    return json_reply(await engine.volume_prune(req.filters(), all_volumes))


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/volumes/create", create),
    ("GET", "/volumes", list_volumes),
    ("POST", "/volumes/prune", prune),
    ("GET", "/volumes/{name}", inspect),
    ("DELETE", "/volumes/{name}", remove),
]
