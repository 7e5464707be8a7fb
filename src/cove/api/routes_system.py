"""System routes: ping, version, info, events.

Every reply already carries ``Api-Version`` (the server adds it), which is what clients
negotiate from when they ping.
"""

from __future__ import annotations

from cove.api.http import (
    Handler,
    Reply,
    Request,
    Response,
    json_lines,
    json_reply,
)
from cove.engine.facade import EngineFacade

_NO_CACHE = [
    ("Cache-Control", "no-cache, no-store, must-revalidate"),
    ("Pragma", "no-cache"),
    # Classic builder only (no BuildKit session endpoint); swarm is never active.
    ("Builder-Version", "1"),
    ("Swarm", "inactive"),
]


async def ping(engine: EngineFacade, req: Request) -> Response:
    body = b"" if req.method == "HEAD" else b"OK"
    return Reply(200, body, "text/plain; charset=utf-8", list(_NO_CACHE))


async def version(engine: EngineFacade, req: Request) -> Response:
    return json_reply(engine.version())


async def info(engine: EngineFacade, req: Request) -> Response:
    return json_reply(engine.info())


async def events(engine: EngineFacade, req: Request) -> Response:
    source = engine.events(req.timestamp("since"), req.timestamp("until"), req.filters())

    return json_lines(source)


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/_ping", ping),
    ("HEAD", "/_ping", ping),
    ("GET", "/version", version),
    ("GET", "/info", info),
    ("GET", "/events", events),
]
