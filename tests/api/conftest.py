"""Run the API server in a background thread on a temporary unix socket."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cove.api.server import ApiServer

from .fakes import FakeEngine, PullingEngine


class ServerThread:
    def __init__(self, engine: FakeEngine, path: str) -> None:
        self.engine = engine
        self.path = path
        self.loop = asyncio.new_event_loop()
        self.api = ApiServer(engine)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.api.start_unix(self.path))
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        assert self._ready.wait(10)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server loop (coroutines are awaited) and return its result."""

        async def run() -> Any:
            result = fn()
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def stop(self) -> None:
        async def shutdown() -> None:
            await self.api.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:  # fake programs still "running"
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(self.path)
        return sock


def _start(engine: FakeEngine) -> Iterator[ServerThread]:
    tmp = tempfile.mkdtemp(prefix="cove-api-")  # short: unix socket paths are limited
    server = ServerThread(engine, os.path.join(tmp, "api.sock"))
    server.start()
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def api() -> Iterator[ServerThread]:
    yield from _start(FakeEngine())


@pytest.fixture
def pulling_api() -> Iterator[ServerThread]:
    yield from _start(PullingEngine())
