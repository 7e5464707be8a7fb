"""Registry routes: push (a JSON progress stream), ``POST /auth`` (login), search, and
``GET /distribution/{name}/json`` (what a registry holds for a name).

The engine's registry operations are declared on its facade (engine/facade.py).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

from cove.api.errors import error_line
from cove.api.http import Handler, Request, Response, json_lines, json_reply
from cove.engine.facade import EngineFacade
from cove.errors import InvalidArgument

SEARCH_LIMIT = 25  # dockerd's default when ``limit`` is absent or 0


def registry_auth(req: Request) -> str | None:
    """The ``X-Registry-Auth`` header when it is base64url JSON, else None (anonymous).

    dockerd ignores a header it cannot decode on pull, push and search ("to increase
    compatibility with the existing API") rather than failing the request, so cove does too.
    """
    header = (req.headers.get("x-registry-auth") or "").strip()
    if not header:
        return None
    try:
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):  # not an auth config: anonymous
        return None
    return header if isinstance(data, dict) else None


async def _push_auth(req: Request) -> str | None:
    """Push's header, or its old form: the auth config as the JSON body (docker-py sends
    ``{}`` there when it has no credentials)."""
    header = registry_auth(req)
    if header is not None or req.headers.get("x-registry-auth"):
        return header
    try:
        body = await req.json()
    except InvalidArgument:  # not JSON: anonymous (dockerd would refuse the push)
        return None
    if not isinstance(body, dict) or not body:
        return None
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


async def stream_progress(progress: AsyncIterator[dict[str, Any]]) -> Response:
    """The first message decides the status line: an error before it is an HTTP error."""
    try:
        first = [await anext(progress)]
    except StopAsyncIteration:
        first = []
    return json_lines(progress, first, error_line)


async def push(engine: EngineFacade, req: Request) -> Response:
    progress = engine.image_push(req.params["name"], req.arg("tag") or None, await _push_auth(req))
    return await stream_progress(progress)


async def auth(engine: EngineFacade, req: Request) -> Response:
    body = await req.json_object()
    return json_reply(await engine.auth(body))


async def search(engine: EngineFacade, req: Request) -> Response:
    result = await engine.image_search(
        req.arg("term") or "",
        req.integer("limit", 0) or SEARCH_LIMIT,
        req.filters(),
        registry_auth(req),
    )
    return json_reply(result)


async def distribution(engine: EngineFacade, req: Request) -> Response:
    return json_reply(await engine.distribution_inspect(req.params["name"], registry_auth(req)))


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/distribution/{name:.*}/json", distribution),
    ("GET", "/images/search", search),
    ("POST", "/images/{name:.*}/push", push),
    ("POST", "/auth", auth),
]
