"""``POST /build``: the classic builder behind Docker's API.

The request body is the context tar (plain or compressed; or a bare Dockerfile); the query
carries the options.  The answer is the classic JSON stream the docker CLI and docker-py
print.  An error before the first message (a bad option, a Dockerfile that does not parse)
is an HTTP error, as dockerd's; later ones become an ``errorDetail`` message (with the exit
``code`` of a failed RUN).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from cove.api.errors import error_line
from cove.api.http import Handler, Request, Response, StreamReply, dump, json_reply
from cove.engine.facade import EngineFacade
from cove.errors import InvalidArgument
from cove.util.bridge import feed_thread

# The builder (some 40 modules) is imported by the first build, not by coved's start: an idle
# daemon, and one that only runs containers, never loads it (issue 16's idle memory).
if TYPE_CHECKING:
    from cove.build.backend import BuildBackend, BuildOptions
    from cove.build.context import BuildContext


def _json_arg(req: Request, name: str, kind: type) -> Any:
    raw = req.arg(name)
    if not raw:
        return kind()
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as e:  # nested past the parser: input too
        raise InvalidArgument(f"invalid {name} parameter: {e}") from None
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise InvalidArgument(f"invalid {name} parameter")
    return value


_BUILDER = ("cove.api.build_inputs", "cove.build.builder", "cove.build.remotectx")


async def _import_builder() -> None:
    """The builder's first import (some 40 modules, 40 ms or more) runs in a worker thread,
    so that the event loop does not wait for it; later imports of it are dict lookups."""
    missing = [m for m in _BUILDER if m not in sys.modules]
    if missing:
        await asyncio.to_thread(lambda: [importlib.import_module(m) for m in missing])


def options(req: Request) -> BuildOptions:
    from cove.api import build_inputs
    from cove.build.backend import BuildOptions

    buildargs = _json_arg(req, "buildargs", dict)
    labels = _json_arg(req, "labels", dict)
    cachefrom = _json_arg(req, "cachefrom", list)
    network = req.arg("networkmode") or None
    return BuildOptions(
        tags=[t for t in req.args("t") if t],
        dockerfile=req.arg("dockerfile") or "Dockerfile",
        quiet=req.flag("q"),
        nocache=req.flag("nocache"),
        pull=req.flag("pull"),
        rm=req.flag("rm", True),
        forcerm=req.flag("forcerm"),
        buildargs={str(k): (None if v is None else str(v)) for k, v in buildargs.items()},
        labels={str(k): str(v) for k, v in labels.items()},
        target=req.arg("target") or None,
        network=None if network == "default" else network,
        platform=req.arg("platform") or None,
        cachefrom=[str(x) for x in cachefrom],
        extrahosts=[h for h in req.args("extrahosts") if h],
        check=req.flag("check"),  # cove's own: the build checks only (cove build --check)
        secrets=build_inputs.secrets(req),
        ssh=build_inputs.ssh(req),
    )


async def build(engine: EngineFacade, req: Request) -> Response:
    await _import_builder()
    from cove.api import build_inputs
    from cove.build.backend import BuildError
    from cove.build.builder import Builder
    from cove.build.context import BuildContext
    from cove.build.remotectx import open_remote

    opts = options(req)
    wanted = build_inputs.named_contexts(req)
    backend = cast("BuildBackend", engine)
    tmp_root = os.path.join(backend.paths.tmp)
    os.makedirs(tmp_root, exist_ok=True)
    fd, upload = tempfile.mkstemp(dir=tmp_root, prefix="build-upload-")

    named: dict[str, BuildContext | str] = {}
    remote = req.arg("remote") or ""

    def spool_and_open(body: BinaryIO) -> BuildContext:
        # spooled first (the context is read more than once); every write off the loop
        with os.fdopen(fd, "wb") as f:
            shutil.copyfileobj(body, f, 1 << 20)
        if remote:  # dockerd's remote=: a git repository or a tarball (the body is empty)
            ctx = open_remote(remote, tmp_root, opts.dockerfile)
        else:
            with open(upload, "rb") as f:
                ctx = BuildContext.from_tar(f, tmp_root, opts.dockerfile)
        try:
            named.update(build_inputs.split_named(ctx, wanted, tmp_root))
        except BaseException:
            ctx.close()
            raise
        return ctx

    try:
        ctx = await feed_thread(req.body.chunks(), spool_and_open)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(upload)
    messages = Builder(backend, ctx, opts, named).run()
    try:
        first = await anext(messages)
    except StopAsyncIteration:
        close_all(ctx, named)
        return StreamReply(_empty())
    except BaseException:
        close_all(ctx, named)
        await messages.aclose()
        raise

    async def lines() -> AsyncIterator[bytes]:
        try:
            yield dump(first)
            async for m in messages:
                yield dump(m)
        except Exception as exc:
            line = error_line(exc)
            if isinstance(exc, BuildError) and exc.code is not None:
                line["errorDetail"] = {"code": exc.code, "message": str(exc)}
            yield dump(line)
        finally:
            await messages.aclose()
            close_all(ctx, named)

    return StreamReply(lines())


def close_all(ctx: BuildContext, named: dict[str, BuildContext | str]) -> None:
    ctx.close()
    for v in named.values():
        if not isinstance(v, str):
            v.close()


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""


def _prune(data_root: str, everything: bool) -> tuple[list[str], int]:
    from cove.build import prune as build_prune  # in the worker thread: see _import_builder

    return build_prune.prune(data_root, everything)


async def prune(engine: EngineFacade, req: Request) -> Response:
    """dockerd's answer: the cache records removed and the bytes reclaimed."""
    req.filters()  # a malformed filter is refused as dockerd refuses it
    data_root = cast("BuildBackend", engine).paths.data_root
    deleted, size = await asyncio.to_thread(_prune, data_root, req.flag("all"))
    return json_reply({"CachesDeleted": deleted or None, "SpaceReclaimed": size})


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/build", build),
    ("POST", "/build/prune", prune),
]
