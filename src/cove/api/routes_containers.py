"""Container routes: create, list, inspect, lifecycle, wait, attach, logs, top."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from cove.api.errors import error_line
from cove.api.hijack import hijack_reply, log_frames, stream_content_type
from cove.api.http import (
    Handler,
    Reply,
    Request,
    Response,
    StreamReply,
    dump,
    json_reply,
    no_content,
)
from cove.engine.facade import EngineFacade
from cove.errors import InvalidArgument, NotFound
from cove.util.streams import AttachSession

WAIT_CONDITIONS = ("not-running", "next-exit", "removed")


async def create(engine: EngineFacade, req: Request) -> Response:
    body = await req.json()
    if body is None:
        raise InvalidArgument("config cannot be empty in order to create a container")
    if not isinstance(body, dict):
        raise InvalidArgument("invalid JSON: expected an object")
    cid, warnings = await engine.container_create(req.arg("name") or None, body)
    return json_reply({"Id": cid, "Warnings": list(warnings or [])}, 201)


async def list_containers(engine: EngineFacade, req: Request) -> Response:
    filters = req.filters()
    for legacy in ("before", "since"):  # pre-1.x query parameters, now filters
        value = req.arg(legacy)
        if value:
            filters.setdefault(legacy, []).append(value)
    result = engine.container_list(
        req.flag("all"), req.integer("limit", -1), req.flag("size"), filters
    )
    return json_reply(result)


async def inspect(engine: EngineFacade, req: Request) -> Response:
    return json_reply(engine.container_inspect(req.params["id"], size=req.flag("size")))


async def start(engine: EngineFacade, req: Request) -> Response:
    await engine.container_start(req.params["id"])
    return no_content()


async def stop(engine: EngineFacade, req: Request) -> Response:
    await engine.container_stop(req.params["id"], req.optional_int("t"), req.arg("signal") or None)
    return no_content()


async def restart(engine: EngineFacade, req: Request) -> Response:
    timeout, signal = req.optional_int("t"), req.arg("signal") or None
    await engine.container_restart(req.params["id"], timeout, signal)
    return no_content()


async def kill(engine: EngineFacade, req: Request) -> Response:
    await engine.container_kill(req.params["id"], req.arg("signal") or None)
    return no_content()


async def remove(engine: EngineFacade, req: Request) -> Response:
    await engine.container_remove(req.params["id"], req.flag("force"), req.flag("v"))
    return no_content()


async def remove_link(engine: EngineFacade, req: Request) -> Response:
    """``docker rm --link parent/alias``: the name has a slash, so it lands here."""
    name = f"{req.params['parent']}/{req.params['alias']}"
    if not req.flag("link"):
        raise NotFound(f"No such container: {name}")
    await engine.container_remove_link(name)
    return no_content()


class _WaitBody:
    """The wait result as a one-chunk body.

    The engine's wait starts as a task before the headers go out, so an exit that happens
    while the client reacts to the headers (``docker run`` starts the container then) is
    not missed.  Closing the body (client gone) cancels the wait.
    """

    def __init__(self, task: asyncio.Future[Any]) -> None:
        self._task = task
        self._sent = False

    def __aiter__(self) -> _WaitBody:
        return self

    async def __anext__(self) -> bytes:
        if self._sent:
            raise StopAsyncIteration
        self._sent = True
        try:
            result = await self._task
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            line = error_line(exc)
            result = {"StatusCode": -1, "Error": {"Message": line["error"]}}
        return dump(result)

    async def aclose(self) -> None:
        if not self._task.done():
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


async def wait(engine: EngineFacade, req: Request) -> Response:
    ref = req.params["id"]
    condition = req.arg("condition") or "not-running"
    if condition not in WAIT_CONDITIONS:
        raise InvalidArgument(f'invalid condition: "{condition}"')
    engine.container_inspect(ref)  # 404 now, while a status can still be sent
    task = asyncio.ensure_future(engine.container_wait(ref, condition))
    return StreamReply(_WaitBody(task))


def _required_int(req: Request, name: str) -> int:
    if not req.arg(name):
        raise InvalidArgument(f"missing required parameter: {name}")
    return req.integer(name, 0)


async def resize(engine: EngineFacade, req: Request) -> Response:
    height, width = _required_int(req, "h"), _required_int(req, "w")
    await engine.container_resize(req.params["id"], height, width)
    return Reply(200)


async def rename(engine: EngineFacade, req: Request) -> Response:
    await engine.container_rename(req.params["id"], req.arg("name") or "")
    return no_content()


async def _attach_session(engine: EngineFacade, req: Request) -> AttachSession:
    return await engine.container_attach(
        req.params["id"],
        stdin=req.flag("stdin"),
        stdout=req.flag("stdout"),
        stderr=req.flag("stderr"),
        logs=req.flag("logs"),
        stream=req.flag("stream"),
        detach_keys=req.arg("detachKeys") or "",
    )


async def attach(engine: EngineFacade, req: Request) -> Response:
    return hijack_reply(req, await _attach_session(engine, req))


async def attach_ws(engine: EngineFacade, req: Request) -> Response:
    from cove.api.websocket import check_handshake, websocket_reply

    check_handshake(req)  # before anything is attached
    return websocket_reply(req, await _attach_session(engine, req))


async def logs(engine: EngineFacade, req: Request) -> Response:
    stdout, stderr = req.flag("stdout"), req.flag("stderr")
    if not (stdout or stderr):
        raise InvalidArgument("Bad parameters: you must choose at least one stream")
    tty, chunks = engine.container_logs(
        req.params["id"],
        follow=req.flag("follow"),
        stdout=stdout,
        stderr=stderr,
        since=req.timestamp("since") or 0.0,
        until=req.timestamp("until") or 0.0,
        timestamps=req.flag("timestamps"),
        tail=req.arg("tail") or "all",
    )
    return StreamReply(log_frames(chunks, tty), stream_content_type(req, tty))


async def top(engine: EngineFacade, req: Request) -> Response:
    return json_reply(await engine.container_top(req.params["id"], req.arg("ps_args") or "-ef"))


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/containers/create", create),
    ("GET", "/containers/json", list_containers),
    ("GET", "/containers/{id}/json", inspect),
    ("POST", "/containers/{id}/start", start),
    ("POST", "/containers/{id}/stop", stop),
    ("POST", "/containers/{id}/restart", restart),
    ("POST", "/containers/{id}/kill", kill),
    ("POST", "/containers/{id}/wait", wait),
    ("POST", "/containers/{id}/resize", resize),
    ("POST", "/containers/{id}/rename", rename),
    ("POST", "/containers/{id}/attach", attach),
    ("GET", "/containers/{id}/attach/ws", attach_ws),
    ("GET", "/containers/{id}/logs", logs),
    ("GET", "/containers/{id}/top", top),
    ("DELETE", "/containers/{id}", remove),
    ("DELETE", "/containers/{parent}/{alias}", remove_link),
]
