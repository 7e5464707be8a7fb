"""One suite for the Runtime Protocol: crun and runc under conmon (root), and FakeRuntime.

What every runtime promises (runtime/base.py): the runtime's own state words through a
container's life, a kill that ends it with 128+signal, ``wait_exit`` on the monitor, and
kill/delete/wait that are harmless on a container that is gone.  The crun/runc specifics
(stdio, ttys, exec) stay in tests/integration/runtime.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from cove.runtime.base import IOConfig, Runtime
from cove.testing.runtime import FakeRuntime
from tests.integration.runtime import conftest as real
from tests.integration.runtime.conftest import busybox_rootfs, host_facts

__all__ = ["busybox_rootfs", "host_facts"]  # the real runtimes' fixtures, used by name

Bundle = Callable[[str, list[str]], str]


@pytest.fixture(params=["fake", "crun", "runc"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Runtime, Bundle]]:
    """FakeRuntime, or (as root) crun and runc under conmon with the integration suite's
    environment and leftover checks (tests/integration/runtime/conftest.py)."""
    if request.param != "fake":
        path = {"crun": real.CRUN, "runc": real.RUNC}[str(request.param)]
        if os.geteuid() != 0:
            pytest.skip(f"{request.param} needs root here")
        if not os.access(path, os.X_OK):
            pytest.skip(f"{path} is not installed")
        facts = request.getfixturevalue("host_facts")
        rootfs = request.getfixturevalue("busybox_rootfs")
        with real.runtime_env(path, facts, rootfs, str(tmp_path)) as env:
            yield env.rt, env.bundle
        return
    rt = FakeRuntime()

    def bundle(cid: str, args: list[str]) -> str:
        path = tmp_path / cid
        path.mkdir()
        return str(path)

    yield rt, bundle
    rt.close()


def run(body: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(body(), 30)

    asyncio.run(bounded())


def test_life_of_a_container(runtime: tuple[Runtime, Bundle]) -> None:
    rt, bundle = runtime

    async def body() -> None:
        assert await rt.state("cf") is None
        info = await rt.create("cf", bundle("cf", ["sleep", "1000"]), IOConfig())
        assert await rt.state("cf") == "created"
        await rt.start("cf")
        assert await rt.state("cf") == "running"
        assert rt.exit_code("cf") is None
        waiter = asyncio.ensure_future(rt.wait_exit(info.monitor_pid))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        await rt.kill("cf", signal.SIGKILL)
        await waiter
        assert await rt.state("cf") == "stopped"
        assert rt.exit_code("cf") == 128 + signal.SIGKILL
        await rt.kill("cf", signal.SIGKILL)  # already stopped: no error
        await rt.wait_exit(info.monitor_pid)  # already gone: returns at once
        await rt.delete("cf")
        await rt.delete("cf", force=True)  # idempotent
        assert await rt.state("cf") is None
        await rt.kill("cf", signal.SIGTERM)  # unknown: no error either

    run(body)


def test_pause_and_resume(runtime: tuple[Runtime, Bundle]) -> None:
    rt, bundle = runtime

    async def body() -> None:
        info = await rt.create("cp", bundle("cp", ["sleep", "1000"]), IOConfig())
        await rt.start("cp")
        await rt.pause("cp")
        assert await rt.state("cp") == "paused"
        await rt.resume("cp")
        assert await rt.state("cp") == "running"
        await rt.kill("cp", signal.SIGKILL)
        await rt.wait_exit(info.monitor_pid)
        await rt.delete("cp", force=True)

    run(body)
