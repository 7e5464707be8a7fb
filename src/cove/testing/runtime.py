"""``FakeRuntime``: the Runtime Protocol without crun, conmon, cgroups or root.

A container's "monitor" is a real idle process (``sleep``) that the fake starts at create
and ends at exit, because the engine tells a live container from a gone one by the monitor's
pid and its start time in ``/proc`` (as it must with conmon).  Its exit code is recorded
before the monitor ends, as conmon writes the exit file before it exits.

A test drives the container's process: ``exit(cid, code)`` ends it; signals end it with
``128 + signal`` unless the signal is in ``ignored`` (a process that traps SIGTERM); the
``fail`` dict makes the next call of that name raise ``SystemError_`` with its message.
``calls`` lists every call in order, for ordering rules (stop before delete, ...).
"""

from __future__ import annotations

import asyncio
import itertools
import signal as _signal
import subprocess
from dataclasses import dataclass, field
from typing import Any

from cove.errors import InvalidArgument, NotFound, SystemError_
from cove.runtime.base import IOConfig, ProcessInfo
from cove.runtime.proc import pid_start_time
from cove.util.streams import Chunk


class FakeSession:
    """An attach session with nothing to say: reads end when the container exits."""

    def __init__(self, tty: bool, ended: asyncio.Event) -> None:
        self.tty = tty
        self._ended = ended
        self.written: list[bytes] = []

    async def read(self) -> Chunk | None:
        await self._ended.wait()
        return None

    async def write(self, data: bytes) -> None:
        self.written.append(data)

    async def close_stdin(self) -> None:
        pass

    async def close(self) -> None:
        self._ended.set()


@dataclass
class FakeContainer:
    cid: str
    bundle: str
    io: IOConfig
    runtime: str
    monitor: subprocess.Popen[bytes]
    pid: int
    status: str = "created"  # the runtime's words: created, running, paused, stopped
    exit_code: int | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class FakeRuntime:
    name = "fake"

    def __init__(self) -> None:
        self.paths: dict[str, str] = {"fake": "/bin/true"}
        self.containers: dict[str, FakeContainer] = {}
        self.exits: dict[str, int] = {}  # kept after delete, as the exit files are
        self.calls: list[tuple[str, str]] = []
        self.fail: dict[str, str] = {}  # method name -> error message, used once
        self.ignored: set[int] = set()  # signals the container's process survives
        self._pids = itertools.count(100_000)

    # --- test controls ---------------------------------------------------------------------
    def exit(self, cid: str, code: int) -> None:
        """The container's process ends with ``code``: recorded, then the monitor ends."""
        fc = self._get(cid)
        if fc.status == "stopped":
            return
        fc.status, fc.exit_code = "stopped", code
        self.exits[cid] = code
        fc.monitor.kill()
        fc.monitor.wait()  # reaped here: a zombie would still look alive in /proc
        fc.ended.set()

    def close(self) -> None:
        """End every monitor process (a test's teardown)."""
        for fc in self.containers.values():
            if fc.monitor.poll() is None:
                fc.monitor.kill()
                fc.monitor.wait()

    def _get(self, cid: str) -> FakeContainer:
        fc = self.containers.get(cid)
        if fc is None:
            raise NotFound(f"container {cid} does not exist in the runtime")
        return fc

    def _call(self, name: str, cid: str) -> None:
        self.calls.append((name, cid))
        msg = self.fail.pop(name, None)
        if msg is not None:
            raise SystemError_(msg)

    # --- the Runtime Protocol ----------------------------------------------------------------
    async def create(self, cid: str, bundle: str, io: IOConfig, runtime: str = "") -> ProcessInfo:
        if runtime and runtime not in self.paths:
            raise InvalidArgument(f"unknown or invalid runtime name: {runtime}")
        self._call("create", cid)
        monitor = subprocess.Popen(["sleep", "infinity"], stdin=subprocess.DEVNULL)
        fc = FakeContainer(cid, bundle, io, runtime or self.name, monitor, next(self._pids))
        self.containers[cid] = fc
        self.exits.pop(cid, None)
        return ProcessInfo(pid=fc.pid, monitor_pid=monitor.pid, pid_start=1)

    async def start(self, cid: str) -> None:
        self._call("start", cid)
        self._get(cid).status = "running"

    async def kill(self, cid: str, signal: int, all_processes: bool = False) -> None:
        self.calls.append(("kill", cid))
        fc = self.containers.get(cid)
        if fc is None or fc.status == "stopped" or signal in self.ignored:
            return
        if signal in (_signal.SIGSTOP, _signal.SIGCONT, 0):
            return
        self.exit(cid, 128 + signal)

    async def pause(self, cid: str) -> None:
        self._call("pause", cid)
        self._get(cid).status = "paused"

    async def resume(self, cid: str) -> None:
        self._call("resume", cid)
        self._get(cid).status = "running"

    async def update(self, cid: str, resources: dict[str, Any]) -> None:
        self._call("update", cid)

    async def delete(self, cid: str, force: bool = False) -> None:
        self.calls.append(("delete", cid))
        fc = self.containers.pop(cid, None)
        if fc is not None and fc.status != "stopped":
            self.exit_and_forget(fc)

    def exit_and_forget(self, fc: FakeContainer) -> None:
        fc.status = "stopped"
        if fc.monitor.poll() is None:
            fc.monitor.kill()
            fc.monitor.wait()
        fc.ended.set()

    async def state(self, cid: str) -> str | None:
        fc = self.containers.get(cid)
        return None if fc is None else fc.status

    def exit_code(self, cid: str) -> int | None:
        return self.exits.get(cid)

    async def wait_exit(self, monitor_pid: int) -> None:
        for fc in list(self.containers.values()):
            if fc.monitor.pid == monitor_pid:
                await fc.ended.wait()
                return
        # not ours any more (deleted): gone when /proc says so
        while pid_start_time(monitor_pid):
            await asyncio.sleep(0.01)

    async def attach(self, cid: str, tty: bool) -> FakeSession:
        return FakeSession(tty, self._get(cid).ended)

    async def resize(self, cid: str, height: int, width: int) -> None:
        self._get(cid)

    async def exec(
        self, cid: str, exec_id: str, process: dict[str, Any], io: IOConfig, attach: bool
    ) -> tuple[ProcessInfo, FakeSession | None]:
        """An exec that has already finished with status 0 (its monitor: ``true``)."""
        self._call("exec", cid)
        if self._get(cid).status != "running":
            raise SystemError_(f"container {cid} is not running")
        monitor = subprocess.Popen(["true"], stdin=subprocess.DEVNULL)
        monitor.wait()
        self.exits["exec:" + exec_id] = 0
        ended = asyncio.Event()
        ended.set()
        info = ProcessInfo(pid=next(self._pids), monitor_pid=monitor.pid, pid_start=1)
        return info, (FakeSession(io.tty, ended) if attach else None)

    def exec_exit_code(self, exec_id: str) -> int | None:
        return self.exits.get("exec:" + exec_id)

    async def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        pass

    def cleanup_exec(self, exec_id: str) -> None:
        self.exits.pop("exec:" + exec_id, None)
