"""Exec routes: create, start (hijacked unless detached), resize, inspect."""

from __future__ import annotations

import contextlib

from cove.api.hijack import hijack_reply
from cove.api.http import Handler, Reply, Request, Response, json_reply
from cove.engine.facade import EngineFacade
from cove.errors import CoveError, InvalidArgument


async def create(engine: EngineFacade, req: Request) -> Response:
    body = await req.json()
    if not isinstance(body, dict):
        raise InvalidArgument("invalid JSON: expected an exec configuration object")
    exec_id = await engine.exec_create(req.params["id"], body)
    return json_reply({"Id": exec_id}, 201)


async def start(engine: EngineFacade, req: Request) -> Response:
    body = await req.json_object()
    detach, tty = bool(body.get("Detach")), bool(body.get("Tty"))
    session = await engine.exec_start(req.params["id"], detach, tty)
    if session is None:
        return Reply(200)
    size = body.get("ConsoleSize")
    if session.tty and isinstance(size, list) and len(size) == 2 and all(size):
        # Best effort, as the client resizes again once attached.
        with contextlib.suppress(CoveError, TypeError, ValueError):
            await engine.exec_resize(req.params["id"], int(size[0]), int(size[1]))
    return hijack_reply(req, session)


async def resize(engine: EngineFacade, req: Request) -> Response:
    if not req.arg("h") or not req.arg("w"):
        raise InvalidArgument("missing required parameter: h and w")
    await engine.exec_resize(req.params["id"], req.integer("h", 0), req.integer("w", 0))
    return Reply(200)


async def inspect(engine: EngineFacade, req: Request) -> Response:
    return json_reply(engine.exec_inspect(req.params["id"]))


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/containers/{id}/exec", create),
    ("POST", "/exec/{id}/start", start),
    ("POST", "/exec/{id}/resize", resize),
    ("GET", "/exec/{id}/json", inspect),
]
