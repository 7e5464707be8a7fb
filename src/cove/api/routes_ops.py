"""Container operations: pause, unpause, stats, update, prune."""

from __future__ import annotations

from cove.api.http import (
    Handler,
    Request,
    Response,
    json_lines,
    json_reply,
    no_content,
)
from cove.engine.facade import EngineFacade
from cove.errors import InvalidArgument


async def pause(engine: EngineFacade, req: Request) -> Response:
    await engine.container_pause(req.params["id"])
    return no_content()


async def unpause(engine: EngineFacade, req: Request) -> Response:
    await engine.container_unpause(req.params["id"])
    return no_content()


async def stats(engine: EngineFacade, req: Request) -> Response:
    stream = req.flag("stream", True)
    one_shot = req.flag("one-shot")
    if one_shot and stream:
        raise InvalidArgument("cannot have stream=true and one-shot=true")
    source = engine.container_stats(req.params["id"], stream, one_shot)
    if not stream:
        async for first in source:
            return json_reply(first)
        return json_reply({})

    return json_lines(source)


async def update(engine: EngineFacade, req: Request) -> Response:
    body = await req.json()
    if not isinstance(body, dict):
        raise InvalidArgument("invalid JSON: expected an object")
    warnings = await engine.container_update(req.params["id"], body)
    return json_reply({"Warnings": warnings or None})


async def prune(engine: EngineFacade, req: Request) -> Response:
    return json_reply(await engine.containers_prune(req.filters()))


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/containers/{id}/pause", pause),
    ("POST", "/containers/{id}/unpause", unpause),
    ("GET", "/containers/{id}/stats", stats),
    ("POST", "/containers/{id}/update", update),
    ("POST", "/containers/prune", prune),
]
