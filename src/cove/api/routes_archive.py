"""``docker cp``'s routes: HEAD (stat), GET (a tar of a path), PUT (extract a tar)."""

from __future__ import annotations

import base64
import json

from cove.api.http import Handler, Reply, Request, Response, StreamReply
from cove.engine.facade import EngineFacade
from cove.errors import CoveError, InvalidArgument
from cove.util.jsontypes import Json

STAT_HEADER = "X-Docker-Container-Path-Stat"
DRAIN_LIMIT = 4 << 20


def _path(req: Request) -> str:
    path = req.arg("path")
    if not path:
        raise InvalidArgument("bad parameter: path cannot be empty")
    return path


def _stat_header(st: Json) -> tuple[str, str]:
    raw = json.dumps(st, separators=(",", ":")).encode()
    return (STAT_HEADER, base64.urlsafe_b64encode(raw).decode())


async def head(engine: EngineFacade, req: Request) -> Response:
    st = await engine.container_archive_stat(req.params["id"], _path(req))
    return Reply(200, b"", "application/json", [_stat_header(st)])


async def get(engine: EngineFacade, req: Request) -> Response:
    st, chunks = await engine.container_archive_get(req.params["id"], _path(req))
    return StreamReply(chunks, "application/x-tar", headers=[_stat_header(st)])


async def put(engine: EngineFacade, req: Request) -> Response:
    try:
        await engine.container_archive_put(
            req.params["id"],
            _path(req),
            req.body.chunks(),
            req.flag("noOverwriteDirNonDir"),
            req.flag("copyUIDGID"),
        )
    except CoveError:
        # read what the client still sends (up to a limit) before answering, as dockerd
        # does: a client streaming its tar would otherwise fail writing, not on our answer
        await req.body.drain(DRAIN_LIMIT)
        raise
    return Reply(200)


ROUTES: list[tuple[str, str, Handler]] = [
    ("HEAD", "/containers/{id}/archive", head),
    ("GET", "/containers/{id}/archive", get),
    ("PUT", "/containers/{id}/archive", put),
]
