"""``docker exec``: exec instances live in memory, as in dockerd, each process under its own
monitor.  The exit code is recorded before the attached stream reports its end, so a client
that inspects the exec right after the stream closes sees the final code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from cove.engine.containers.detach import DEFAULT_KEYS, DetachSession, parse_keys
from cove.engine.containers.runcwords import not_found_reason
from cove.engine.context import EngineContext
from cove.engine.record import Container
from cove.engine.state import Status
from cove.errors import Conflict, CoveError, InvalidArgument, SystemError_, no_such_exec
from cove.runtime.base import IOConfig
from cove.util.ids import new_id
from cove.util.jsontypes import Json
from cove.util.streams import STDOUT, AttachSession, Chunk

log = logging.getLogger("cove.engine")


class _ExecSession:
    """Holds back the end of the stream until the exit code is known."""

    def __init__(self, inner: AttachSession, done: asyncio.Event) -> None:
        self.tty = inner.tty
        self._inner = inner
        self._done = done

    async def read(self) -> Chunk | None:
        c = await self._inner.read()
        if c is None:
            await self._done.wait()
        return c

    async def write(self, data: bytes) -> None:
        await self._inner.write(data)

    async def close_stdin(self) -> None:
        await self._inner.close_stdin()

    async def close(self) -> None:
        await self._inner.close()


class ExecService:
    """The exec instances of every container, held by the engine (``engine.exec_service``).

    Built from the shared context (the runtime, container lookup and events) and two steps of
    the container operations: ``sync`` (fold an unseen exit into the record before checking
    the state) and ``process_of`` (the OCI process of an exec, from the container's spec).
    The container operations tell it when a container exits (``container_exited``) and ask
    it for a container's exec IDs (inspect)."""

    def __init__(
        self,
        ctx: EngineContext,
        sync: Callable[[Container], Awaitable[None]],
        process_of: Callable[[Container, Json], Json],
    ) -> None:
        self.runtime = ctx.runtime
        self.find = ctx.find
        self.emit = ctx.emit
        self.sync = sync
        self.process_of = process_of
        self.execs: dict[str, Json] = {}
        self._exec_done: dict[str, asyncio.Event] = {}

    def exec_ids(self, cid: str) -> list[str]:
        return [k for k, e in self.execs.items() if e["ContainerID"] == cid]

    def container_exited(self, cid: str) -> None:
        for k in self.exec_ids(cid):
            self.execs.pop(k, None)

    async def exec_create(self, ref: str, body: Json) -> str:
        c = self.find(ref)
        await self.sync(c)
        if c.status == Status.PAUSED:
            raise Conflict(f"Container {c.id} is paused, unpause the container before exec")
        if c.status != Status.RUNNING:
            raise Conflict(f"Container {c.id} is not running")
        cmd = body.get("Cmd") or []
        if not cmd:
            raise InvalidArgument("No exec command specified")
        eid = new_id()
        self.execs[eid] = {
            "ID": eid,
            "Running": False,
            "ExitCode": None,
            "ProcessConfig": {
                "tty": bool(body.get("Tty")),
                "entrypoint": cmd[0],
                "arguments": cmd[1:],
                "privileged": bool(body.get("Privileged")),
                "user": body.get("User") or "",
            },
            "OpenStdin": bool(body.get("AttachStdin")),
            "OpenStderr": bool(body.get("AttachStderr")),
            "OpenStdout": bool(body.get("AttachStdout")),
            "CanRemove": False,
            "ContainerID": c.id,
            "DetachKeys": body.get("DetachKeys") or "",
            "Pid": 0,
            "_body": body,
        }
        self.emit(c, "exec_create: " + " ".join(cmd), {"execID": eid})
        return eid

    def _exec(self, exec_id: str) -> Json:
        e = self.execs.get(exec_id)
        if e is None:
            raise no_such_exec(exec_id)
        return e

    def exec_inspect(self, exec_id: str) -> Json:
        e = self._exec(exec_id)
        return {k: v for k, v in e.items() if not k.startswith("_")}

    async def exec_start(self, exec_id: str, detach: bool, tty: bool) -> AttachSession | None:
        e = self._exec(exec_id)
        if e["Running"]:
            raise Conflict(f"Error: Exec command {exec_id} is already running")
        if e["ExitCode"] is not None or exec_id in self._exec_done:
            raise Conflict(f"Error: Exec command {exec_id} has already run")
        c = self.find(e["ContainerID"])
        if c.status != Status.RUNNING:
            raise Conflict(f"Container {c.id} is not running")
        body = e["_body"]
        process = self.process_of(c, body)
        use_tty = bool(body.get("Tty"))
        io = IOConfig(
            tty=use_tty,
            stdin=bool(body.get("AttachStdin")) and not detach,
            stdin_once=True,
            log_path=None,
        )
        done = asyncio.Event()
        self._exec_done[exec_id] = done
        try:
            info, session = await self.runtime.exec(c.id, exec_id, process, io, not detach)
        except CoveError as err:
            reason = _exec_reason(err.message)
            e["ExitCode"] = 126  # dockerd's code for any exec that cannot start, missing or not
            done.set()
            msg = _exec_error(reason)
            if detach:
                raise SystemError_(msg) from None
            # dockerd writes the failure into the attached stream; the exit code tells
            return _Message((msg + "\r\n").encode(), use_tty)
        e.update(Running=True, Pid=info.pid)
        self.emit(c, "exec_start: " + " ".join(process.get("args", [])), {"execID": exec_id})

        async def waiter() -> None:
            try:
                await self.runtime.wait_exit(info.monitor_pid)
                code = self.runtime.exec_exit_code(exec_id)
                e.update(Running=False, Pid=0, ExitCode=255 if code is None else code)
                self.emit(c, "exec_die", {"execID": exec_id, "exitCode": str(e["ExitCode"])})
            except Exception:
                log.exception("watching exec %s", exec_id)
            finally:
                done.set()
                self.runtime.cleanup_exec(exec_id)

        asyncio.get_running_loop().create_task(waiter())
        if session is None:
            return None
        wrapped = _ExecSession(session, done)
        # dockerd frames the stream by the start request's Tty, not the exec's own: a
        # client that starts a TTY exec with Tty=false gets multiplexed frames
        wrapped.tty = tty
        if body.get("AttachStdin"):
            # Go decodes JSON keys case-blind: docker-py sends "detachKeys"
            given = next((v for k, v in body.items() if k.lower() == "detachkeys" and v), "")
            keys = parse_keys(str(given or DEFAULT_KEYS))
            return DetachSession(wrapped, keys)
        return wrapped

    async def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        self._exec(exec_id)
        await self.runtime.exec_resize(exec_id, height, width)


def _exec_reason(msg: str) -> str:
    msg = msg.removeprefix("OCI runtime exec failed: ")
    reason = not_found_reason(msg)
    if reason is not None:
        return reason
    return msg


def _exec_error(reason: str) -> str:
    return (
        "OCI runtime exec failed: exec failed: unable to start container process: "
        f"{reason}: unknown"
    )


class _Message:
    """A finished session carrying one message, as dockerd answers a failed exec."""

    def __init__(self, data: bytes, tty: bool) -> None:
        self.tty = tty
        self._data: bytes | None = data

    async def read(self) -> Chunk | None:
        data, self._data = self._data, None
        return None if data is None else Chunk(STDOUT, data)

    async def write(self, data: bytes) -> None:
        pass

    async def close_stdin(self) -> None:
        pass

    async def close(self) -> None:
        self._data = None
