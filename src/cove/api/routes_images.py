"""Image routes: list, inspect, history, tag, remove, create (import / pull)."""

from __future__ import annotations

import asyncio
import inspect as _inspect
from collections.abc import AsyncIterator
from typing import Any, cast

from cove.api.errors import error_line
from cove.api.http import (
    Handler,
    Reply,
    Request,
    Response,
    StreamReply,
    dump,
    json_lines,
    json_reply,
)
from cove.api.routes_registry import registry_auth
from cove.engine.facade import EngineFacade
from cove.errors import InvalidArgument
from cove.util.jsontypes import Json


async def list_images(engine: EngineFacade, req: Request) -> Response:
    filters = req.filters()
    legacy = req.arg("filter")  # API < 1.41: a reference pattern
    if legacy:
        filters.setdefault("reference", []).append(legacy)
    return json_reply(engine.image_list(req.flag("all"), filters, req.flag("digests")))


async def inspect(engine: EngineFacade, req: Request) -> Response:
    return json_reply(engine.image_inspect(req.params["name"]))


async def history(engine: EngineFacade, req: Request) -> Response:
    return json_reply(engine.image_history(req.params["name"]))


async def tag(engine: EngineFacade, req: Request) -> Response:
    await engine.image_tag(req.params["name"], req.arg("repo") or "", req.arg("tag") or None)
    return Reply(201)


async def remove(engine: EngineFacade, req: Request) -> Response:
    result = await engine.image_remove(req.params["name"], req.flag("force"), req.flag("noprune"))
    return json_reply(result)


async def create(engine: EngineFacade, req: Request) -> Response:
    from_image, from_src = req.arg("fromImage"), req.arg("fromSrc")
    if from_image:
        return await _pull(engine, req, from_image)
    if not from_src:
        raise InvalidArgument("fromImage or fromSrc must be given")
    # dockerd reports an import failure as an HTTP error as long as nothing was written;
    # the import writes nothing before it is done, so the status line waits for it.
    source = req.body.chunks() if from_src == "-" else from_src
    image_id = await engine.image_import(
        source,
        req.arg("repo") or None,
        req.arg("tag") or None,
        req.args("changes"),
        req.arg("message") or None,
        req.arg("platform") or None,
    )
    return StreamReply(_lines([{"status": image_id}]))


async def _lines(messages: list[Json]) -> AsyncIterator[bytes]:
    for message in messages:
        yield dump(message)


async def _pull(engine: EngineFacade, req: Request, image: str) -> Response:
    result: Any = engine.image_pull(
        image,
        req.arg("tag") or None,
        req.arg("platform") or None,
        registry_auth(req),
    )
    if _inspect.isawaitable(result):
        result = await result
    progress = cast(AsyncIterator[Json], result)
    try:
        first = await anext(progress)
    except StopAsyncIteration:
        return StreamReply(_lines([]))

    return json_lines(progress, first=[first], on_error=error_line)


async def commit(engine: EngineFacade, req: Request) -> Response:
    body = await req.json()
    if body is not None and not isinstance(body, dict):
        raise InvalidArgument("invalid JSON: expected an object")
    container = req.arg("container") or ""
    if not container:
        raise InvalidArgument("No container name or ID supplied")
    image_id = await engine.container_commit(
        container,
        req.arg("repo") or None,
        req.arg("tag") or None,
        req.arg("comment") or "",
        req.arg("author") or "",
        req.args("changes"),
        req.flag("pause", True),
        body,
    )
    return json_reply({"Id": image_id}, 201)


async def changes(engine: EngineFacade, req: Request) -> Response:
    return json_reply(engine.container_changes(req.params["id"]))


async def _tar_reply(chunks: AsyncIterator[bytes]) -> Response:
    return StreamReply(chunks, content_type="application/x-tar")


async def export(engine: EngineFacade, req: Request) -> Response:
    return await _tar_reply(engine.container_export(req.params["id"]))


async def save_many(engine: EngineFacade, req: Request) -> Response:
    return await _tar_reply(engine.image_save(req.args("names")))


async def save_one(engine: EngineFacade, req: Request) -> Response:
    return await _tar_reply(engine.image_save([req.params["name"]]))


async def load(engine: EngineFacade, req: Request) -> Response:
    messages = engine.image_load(req.body.chunks(), req.flag("quiet"))

    return json_lines(messages, on_error=error_line)


async def prune(engine: EngineFacade, req: Request) -> Response:
    return json_reply(await engine.images_prune(req.filters()))


async def system_df(engine: EngineFacade, req: Request) -> Response:
    out = engine.system_df()
    data_root = cast(Any, engine).paths.data_root  # the build cache lives beside the images
    out["BuildCache"] = await asyncio.to_thread(_build_cache_df, data_root)
    return json_reply(out)


def _build_cache_df(data_root: str) -> list[dict[str, object]]:
    # the build cache's side of the builder is imported by the first df, in this worker
    # thread: coved's start and its event loop never wait for it
    from cove.build.prune import df_records

    return df_records(data_root)


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/images/json", list_images),
    ("POST", "/commit", commit),
    ("GET", "/containers/{id}/changes", changes),
    ("GET", "/containers/{id}/export", export),
    ("GET", "/images/get", save_many),
    ("GET", "/images/{name:.*}/get", save_one),
    ("POST", "/images/load", load),
    ("POST", "/images/prune", prune),
    ("GET", "/system/df", system_df),
    ("POST", "/images/create", create),
    ("GET", "/images/{name:.*}/json", inspect),
    ("GET", "/images/{name:.*}/history", history),
    ("POST", "/images/{name:.*}/tag", tag),
    ("DELETE", "/images/{name:.*}", remove),
]
