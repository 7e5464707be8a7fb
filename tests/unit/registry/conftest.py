"""cove's registry server in a background thread on a loopback port, for client/server tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from cove.registry.app import Registry
from cove.registry.auth import Authorizer
from cove.registry.http import Handler, Request, Response, serve_connection
from cove.registry.storage import Storage


@dataclass
class Served:
    addr: str
    app: Registry
    wrap: list[Callable[[Request, Handler], object] | None]


@pytest.fixture
def served(tmp_path: object) -> Iterator[Served]:
    yield from _serve(str(tmp_path), None)


def _serve(root: str, authorizer: Authorizer | None) -> Iterator[Served]:
    app = Registry(Storage(root + "/reg"), authorizer)
    wrap: list[Callable[[Request, Handler], object] | None] = [None]
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, object] = {}

    async def handler(req: Request) -> Response:
        w = wrap[0]
        if w is not None:
            return await w(req, app.handle)  # type: ignore[no-any-return, misc]
        return await app.handle(req)

    async def main() -> None:
        server = await asyncio.start_server(
            lambda r, w: serve_connection(r, w, handler), "127.0.0.1", 0
        )
        box["addr"] = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
        box["server"] = server
        ready.set()
        async with server:
            await box["stop"].wait()  # type: ignore[attr-defined]

    def run() -> None:
        asyncio.set_event_loop(loop)
        box["stop"] = asyncio.Event()
        loop.run_until_complete(main())
        pending = asyncio.all_tasks(loop)  # connections clients left open (keep-alive)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    ready.wait(10)
    try:
        yield Served(str(box["addr"]), app, wrap)
    finally:
        loop.call_soon_threadsafe(box["stop"].set)  # type: ignore[attr-defined]
        t.join(10)
        loop.close()
