"""Registry routes: push (a JSON progress stream), ``POST /auth`` (login), search.

The engine's registry operations are reached with ``getattr`` so this module works with
any facade: a daemon without them answers 501.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from cove.api.errors import error_line
from cove.api.http import Handler, Request, Response, StreamReply, dump, json_reply
from cove.engine.facade import EngineFacade
from cove.errors import NotImplementedYet


def _op(engine: EngineFacade, name: str) -> Any:
    fn = getattr(engine, name, None)
    if fn is None:
        raise NotImplementedYet(f"this daemon does not support {name.replace('_', ' ')}")
    return fn


async def stream_progress(progress: AsyncIterator[dict[str, Any]]) -> Response:
    """The first message decides the status line: an error before it is an HTTP error."""
    try:
        first = await anext(progress)
    except StopAsyncIteration:
        first = None

    async def lines() -> AsyncIterator[bytes]:
        if first is None:
            return
        yield dump(first)
        try:
            async for message in progress:
                yield dump(message)
        except Exception as exc:
            yield dump(error_line(exc))
        finally:
            await progress.aclose()  # type: ignore[attr-defined]

    return StreamReply(lines())


async def push(engine: EngineFacade, req: Request) -> Response:
    progress = _op(engine, "image_push")(
        req.params["name"], req.arg("tag") or None, req.headers.get("x-registry-auth")
    )
    return await stream_progress(progress)


async def auth(engine: EngineFacade, req: Request) -> Response:
    body = await req.json_object()
    return json_reply(await _op(engine, "auth")(body))


async def search(engine: EngineFacade, req: Request) -> Response:
    result = await _op(engine, "image_search")(
        req.arg("term") or "",
        req.integer("limit", 25),
        req.filters(),
        req.headers.get("x-registry-auth"),
    )
    return json_reply(result)


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/images/search", search),
    ("POST", "/images/{name:.*}/push", push),
    ("POST", "/auth", auth),
]
