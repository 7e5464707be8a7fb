"""Health checks (``--health-cmd`` and friends, the image's HEALTHCHECK).

While a container runs, one task per container runs the test in it every ``Interval``
(30 s by default) as an exec with its own monitor, waits at most ``Timeout`` (30 s) and
keeps the last five results in ``State.Health``.  ``Retries`` (3) failures in a row make
it "unhealthy"; failures during ``StartPeriod`` do not count.  The state is part of the
record, so a restarted daemon shows it and its task resumes from ``watch``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable

from cove.engine.context import EngineContext
from cove.engine.record import Container
from cove.engine.state import Status
from cove.errors import CoveError
from cove.runtime.base import IOConfig, ProcessInfo
from cove.util.ids import new_id
from cove.util.jsontypes import Json
from cove.util.timefmt import now_rfc3339, parse_rfc3339

log = logging.getLogger("cove.engine")
NS = 1_000_000_000
MAX_OUTPUT = 4096
KEEP = 5


def health_command(test: list[str] | None) -> list[str] | None:
    """["CMD", args...] or ["CMD-SHELL", line]; None for none/NONE/inherit."""
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        return list(test[1:]) or None
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return None


def _seconds(hc: Json, key: str, default: float) -> float:
    v = int(hc.get(key) or 0)
    return v / NS if v > 0 else default


class HealthMonitor:
    """The probes of running containers, a part the container operations hold
    (``self.health``): built from the shared context (the runtime, events) and the spec's
    exec process; ``watch`` starts a container's probes, ``stop`` ends them at its exit."""

    def __init__(self, ctx: EngineContext, process_of: Callable[[Container, Json], Json]) -> None:
        self.runtime = ctx.runtime
        self.emit = ctx.emit
        self.process_of = process_of
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def watch(self, c: Container, info: ProcessInfo) -> None:
        """Probes for a container that runs (from its start or the daemon's restore)."""
        check = c.config.get("Healthcheck") or {}
        cmd = health_command(check.get("Test"))
        old = self._tasks.pop(c.id, None)
        if old is not None:
            old.cancel()
        if cmd is None:
            c.state.pop("Health", None)
            return
        started = str(c.state.get("StartedAt") or "")
        if "Health" not in c.state or c.health_for != started:
            # a new run starts over; a daemon restart keeps the run's results
            c.state["Health"] = {"Status": "starting", "FailingStreak": 0, "Log": []}
            c.health_for = started
        task = asyncio.get_running_loop().create_task(self._probe_loop(c, info, cmd, check))
        self._tasks[c.id] = task

    async def _probe_loop(self, c: Container, info: ProcessInfo, cmd: list[str], hc: Json) -> None:
        interval = _seconds(hc, "Interval", 30.0)
        timeout = _seconds(hc, "Timeout", 30.0)
        start_period = _seconds(hc, "StartPeriod", 0.0)
        retries = int(hc.get("Retries") or 0) or 3
        started = parse_rfc3339(str(c.state.get("StartedAt") or "")) or time.time()
        try:
            while True:
                await asyncio.sleep(interval)
                if c.monitor_pid != info.monitor_pid or c.status != Status.RUNNING:
                    if c.status == Status.PAUSED:
                        continue
                    return
                code, out, begin = await self._probe(c, cmd, timeout)
                ran = time.time() - started
                self._record_probe(c, code, out, begin, retries, ran, start_period)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("health check of %s", c.id)
        finally:
            if self._tasks.get(c.id) is asyncio.current_task():
                self._tasks.pop(c.id, None)

    async def _probe(self, c: Container, cmd: list[str], timeout: float) -> tuple[int, str, str]:
        begin = now_rfc3339()
        eid = new_id()
        # each probe is an exec, and dockerd's event stream shows it as one
        shown = " ".join(cmd)
        self.emit(c, "exec_create: " + shown, {"execID": eid})
        try:
            process = self.process_of(c, {"Cmd": cmd})
            self.emit(c, "exec_start: " + shown, {"execID": eid})
            pinfo, session = await self.runtime.exec(c.id, eid, process, IOConfig(), True)
        except CoveError as e:
            return 1, str(e), begin
        out = bytearray()

        async def collect() -> None:
            assert session is not None
            while (chunk := await session.read()) is not None:
                if len(out) < MAX_OUTPUT:
                    out.extend(chunk.data[: MAX_OUTPUT - len(out)])
            await self.runtime.wait_exit(pinfo.monitor_pid)

        try:
            await asyncio.wait_for(collect(), timeout)
            code = self.runtime.exec_exit_code(eid)
            code = 1 if code is None else code
            text = out.decode(errors="replace")
        except TimeoutError:
            with contextlib.suppress(OSError):
                os.kill(pinfo.pid, signal.SIGKILL)
            code, text = -1, f"Health check exceeded timeout ({timeout:g}s)"
        finally:
            if session is not None:
                await session.close()
            self.runtime.cleanup_exec(eid)
        died = 128 + signal.SIGKILL if code == -1 else code
        self.emit(c, "exec_die", {"execID": eid, "exitCode": str(died)})
        return code, text, begin

    def _record_probe(
        self,
        c: Container,
        code: int,
        out: str,
        begin: str,
        retries: int,
        ran: float,
        start_period: float,
    ) -> None:
        h = c.state.setdefault("Health", {"Status": "starting", "FailingStreak": 0, "Log": []})
        entry = {"Start": begin, "End": now_rfc3339(), "ExitCode": code, "Output": out}
        h["Log"] = [*(h.get("Log") or []), entry][-KEEP:]
        old = h.get("Status")
        if code == 0:
            h.update(Status="healthy", FailingStreak=0)
        elif ran >= start_period or old != "starting":
            h["FailingStreak"] = int(h.get("FailingStreak") or 0) + 1
            if h["FailingStreak"] >= retries:
                h["Status"] = "unhealthy"
        c.save()
        if h["Status"] != old:
            self.emit(c, "health_status: " + h["Status"])

    def stop(self, c: Container) -> None:
        """The container exited: its probes stop."""
        task = self._tasks.pop(c.id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
