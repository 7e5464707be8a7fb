"""start, stop, kill, restart, wait, rm: every operation locks the container, syncs it from
the runtime, checks the transition, acts, persists and emits an event.

A per-container watcher task waits (pidfd) for the monitor to exit and records the exit;
the monitor itself has already written the exit code, so a daemon that was down meanwhile
reads the same code at its next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal as _signal
from collections.abc import AsyncIterator, Callable

from cove.engine import logs
from cove.engine.base import EngineBase
from cove.engine.containers import security
from cove.engine.containers.runcwords import not_found_reason
from cove.engine.containers.signals import parse_signal
from cove.engine.containers.spec import prepare_bundle
from cove.engine.record import Container
from cove.engine.state import Status, allowed
from cove.errors import (
    Conflict,
    CoveError,
    NotFound,
    NotModified,
    SystemError_,
    no_such_container,
)
from cove.runtime.base import IOConfig, ProcessInfo
from cove.runtime.proc import pid_start_time
from cove.snapshot import mount as mounter
from cove.util import crashpoint
from cove.util.jsontypes import Json
from cove.util.streams import AttachSession, Chunk

log = logging.getLogger("cove.engine")


class LateSession:
    """An attach made before the process exists (``docker run`` attaches, then starts)."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self._real: asyncio.Future[AttachSession | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._stdin: list[bytes] = []
        self._stdin_closed = False

    async def connect(self, s: AttachSession | None) -> None:
        if self._real.done():
            return
        self._real.set_result(s)
        if s is not None:
            for d in self._stdin:
                await s.write(d)
            self._stdin.clear()
            if self._stdin_closed:
                await s.close_stdin()

    async def read(self) -> Chunk | None:
        s = await self._real
        return None if s is None else await s.read()

    async def write(self, data: bytes) -> None:
        if self._real.done() and (s := self._real.result()) is not None:
            await s.write(data)
        else:
            self._stdin.append(data)

    async def close_stdin(self) -> None:
        if self._real.done() and (s := self._real.result()) is not None:
            await s.close_stdin()
        else:
            self._stdin_closed = True

    async def close(self) -> None:
        if not self._real.done():
            self._real.set_result(None)
        elif (s := self._real.result()) is not None:
            await s.close()


class _StdinPolicy:
    """dockerd's rule for the end of a client's input: the container's stdin closes only
    for ``StdinOnce`` without a TTY; otherwise a client's half-close just ends its input
    (the docker CLI half-closes at once when it has nothing to send)."""

    def __init__(self, inner: AttachSession, stdin: bool, close_on_eof: bool) -> None:
        self.tty = inner.tty
        self._inner = inner
        self._stdin = stdin
        self._close_on_eof = close_on_eof

    async def read(self) -> Chunk | None:
        return await self._inner.read()

    async def write(self, data: bytes) -> None:
        if self._stdin:
            await self._inner.write(data)

    async def close_stdin(self) -> None:
        if self._stdin and self._close_on_eof:
            await self._inner.close_stdin()
        self._stdin = False

    async def close(self) -> None:
        await self._inner.close()


class LifecycleOps(EngineBase):
    _pending: dict[str, list[LateSession]]
    _waiters: dict[str, list[tuple[str, asyncio.Future[int]]]]
    _watchers: dict[str, asyncio.Task[None]]

    def _init_lifecycle(self) -> None:
        self._pending = {}
        self._waiters = {}
        self._watchers = {}
        self._deleting: dict[str, asyncio.Task[None]] = {}

    # --- one shape for an operation -------------------------------------------------------
    @contextlib.asynccontextmanager
    async def operation(
        self, ref: str, op: str, refuse: Callable[[Container], CoveError]
    ) -> AsyncIterator[Container]:
        """Lock the container, sync it from the runtime, check that ``op`` may start from
        its state (``refuse(c)`` is raised otherwise, in Docker's words), let the body act
        on it, save the record and emit ``op``'s event.  A body that raises leaves the
        record unsaved and emits nothing."""
        async with self.checked(ref, op, refuse) as c:
            yield c
            c.save()
        self.emit(c, op)

    @contextlib.asynccontextmanager
    async def checked(
        self, ref: str, op: str, refuse: Callable[[Container], CoveError]
    ) -> AsyncIterator[Container]:
        """``operation``'s first half, for operations that save and emit on their own
        terms (stop and kill send their kill event before the signal and wait for the exit
        outside the lock, which the exit's handling needs): lock, sync, check."""
        c = self.find(ref)
        async with self.lock(c.id):
            await self.sync(c)
            if not allowed(op, c.status):
                raise refuse(c)
            yield c

    # --- state from the runtime ------------------------------------------------------------
    def monitor_alive(self, c: Container) -> bool:
        # the start time tells a recycled pid from the monitor we started; 0 means gone
        pid = c.monitor_pid
        start = pid_start_time(pid) if pid else 0
        return bool(start) and start == c.monitor_start

    async def sync(self, c: Container) -> None:
        """Fold an exit the watcher has not seen yet (daemon restart, lost task) into the
        record."""
        if c.status in (Status.RUNNING, Status.PAUSED) and not self.monitor_alive(c):
            await self._record_exit(c, c.monitor_pid)

    # --- start ----------------------------------------------------------------------------
    async def _start(self, ref: str) -> None:
        c = self.find(ref)
        async with self.lock(c.id):
            await self.sync(c)
            if c.status == Status.RUNNING:
                raise NotModified("container already started")
            if c.status == Status.PAUSED:
                raise Conflict("cannot start a paused container, try unpause instead")
            if not allowed("start", c.status):
                raise Conflict(f"cannot start container {c.id} in state {c.status.value}")
            try:
                await self._start_locked(c)
            except CoveError:
                if c.host_config.get("AutoRemove"):
                    await self._remove_locked(c)
                raise

    def _mount_rootfs(self, c: Container) -> str:
        target = self.paths.rootfs(c.id)
        os.makedirs(target, exist_ok=True)
        if not mounter.is_mountpoint(target):
            mounter.mount_all(self.snapshotter.mounts(c.id), target)
        return target

    def _unmount_rootfs(self, c: Container) -> None:
        target = self.paths.rootfs(c.id)
        # from the mount table: os.path.ismount misses the native driver's bind mount, which
        # then stayed behind after stop and rm, and a second start stacked another on it
        if mounter.is_mountpoint(target):
            try:
                mounter.unmount(target)
            except (OSError, CoveError) as e:
                log.warning("unmount %s: %s", target, e)

    async def _start_locked(self, c: Container) -> None:
        # checked here too, before anything is touched: every path to a start (a user's, a
        # restart policy's timer, the daemon's boot) holds the lock but may have waited for it
        if not allowed("start", c.status):
            raise Conflict(f"cannot start container {c.id} in state {c.status.value}")
        bundle = self.paths.bundle(c.id)
        await self._runtime_forgotten(c)
        try:
            await self.net.net_prepare_async(c)  # addresses and host ports: a taken port fails here
        except CoveError as e:
            self._start_failed(c, e.message)
            raise
        crashpoint.reached("start:net")
        try:
            # off the loop: fuse-overlayfs's mount is a process to wait for (3-23 ms)
            rootfs = await asyncio.to_thread(self._mount_rootfs, c)
            crashpoint.reached("start:mounted")
            prepare_bundle(self, c, rootfs, bundle)
            log_plan = logs.plan_of(c.host_config)
            log_path = logs.log_path_of(self.paths, c.id, c.data)
            io = IOConfig(
                tty=c.tty,
                stdin=bool(c.config.get("OpenStdin")),
                stdin_once=bool(c.config.get("StdinOnce")),
                **logs.before_start(self, log_path, log_plan),
            )
            runtime = str(c.host_config.get("Runtime") or "")
            try:
                info = await self.runtime.create(c.id, bundle, io, runtime)
            except BaseException:
                logs.release(log_path)  # the FIFO held for the monitor (json-file)
                raise
        except (NotFound, Conflict) as e:
            # a --network/--ipc container:<name> that is missing or not running: dockerd
            # answers start with these (404, 409), not as a runtime failure
            await self.net.net_release(c)
            self._start_failed(c, e.message)
            c.state["Error"] = e.message
            c.save()
            raise
        except CoveError as e:
            await self.net.net_release(c)
            reason = _runtime_reason(e.message, c, self.paths.rootfs(c.id))
            self._start_failed(c, reason)
            raise SystemError_(_docker_start_error(reason)) from None
        except OSError as e:
            await self.net.net_release(c)
            self._start_failed(c, e)
            raise SystemError_(f"failed to create task for container: {e}") from None
        c.in_runtime = True
        crashpoint.reached("start:created")
        await logs.after_start(self, log_path, log_plan, info.monitor_pid, c.data)
        try:
            await self.net.net_attach(c, info.pid)  # before the process runs
            await security.late_sysctls(c.host_config, info.pid)  # eth0's, now it exists
            crashpoint.reached("start:attached")
            for late in self._pending.pop(c.id, []):
                await late.connect(await self.runtime.attach(c.id, c.tty))
            await self.runtime.start(c.id)
            crashpoint.reached("start:started")
        except CoveError as e:
            await self.runtime.kill(c.id, _signal.SIGKILL, True)
            await self.runtime.wait_exit(info.monitor_pid)
            await self.runtime.delete(c.id, force=True)
            c.in_runtime = False
            await self.net.net_release(c)
            reason = _runtime_reason(e.message, c, self.paths.rootfs(c.id))
            self._start_failed(c, reason)
            raise SystemError_(_docker_start_error(reason)) from None
        c.set_running(info.pid)
        c.set_monitor(info.monitor_pid, pid_start_time(info.monitor_pid), info.pid_start)
        c.save_state()  # it runs: watched and reported even if the disk is full
        self.emit(c, "start")
        self.watch(c, info)

    def _start_failed(self, c: Container, e: BaseException | str) -> None:
        msg = str(e)
        low = msg.lower()
        if "not found" in low or "no such file" in low:
            code = 127
        elif "permission denied" in low or "is a directory" in low:
            code = 126
        else:
            code = 128
        c.set_start_failed(code, _docker_start_error(msg))
        self._unmount_rootfs(c)
        self.volume_service.volumes_release(c)
        c.save()

    # --- exit -----------------------------------------------------------------------------
    def watch(self, c: Container, info: ProcessInfo) -> None:
        """Follow a running container; ops.py adds its health probes."""
        self._watch_exit(c, info)

    def _watch_exit(self, c: Container, info: ProcessInfo) -> None:
        async def waiter() -> None:
            try:
                await self.runtime.wait_exit(info.monitor_pid)
                async with self.lock(c.id):
                    if c.monitor_pid == info.monitor_pid and c.status in (
                        Status.RUNNING,
                        Status.PAUSED,
                    ):
                        await self._record_exit(c, info.monitor_pid)
                if c.host_config.get("AutoRemove") and c.id in self.containers:
                    async with self.lock(c.id):
                        if c.id in self.containers and c.status == Status.EXITED:
                            await self._remove_locked(c)
            except Exception:
                log.exception("watching container %s", c.id)
            finally:
                self._watchers.pop(c.id, None)

        self._watchers[c.id] = asyncio.get_running_loop().create_task(waiter())

    async def _record_exit(self, c: Container, monitor_pid: int) -> None:
        """Every step of an exit; ops.py adds those of health and restart around it."""
        await self._record_exit_core(c, monitor_pid)

    async def _record_exit_core(self, c: Container, monitor_pid: int) -> None:
        code = self.runtime.exit_code(c.id)
        if code is None:
            code = 255  # the monitor died without recording a status
        c.set_exited(code)
        c.clear_monitor()
        await self.net.net_release(c)
        crashpoint.reached("exit:released")
        self._delete_later(c)
        await asyncio.to_thread(self._unmount_rootfs, c)
        self.volume_service.volumes_release(c)
        self.exec_service.container_exited(c.id)
        c.save_state()  # a full disk must not lose the exit
        self.emit(c, "die", {"exitCode": str(code)})
        for cond, fut in self._waiters.get(c.id, [])[:]:
            if cond != "removed" and not fut.done():
                fut.set_result(code)
                self._waiters[c.id].remove((cond, fut))

    def _delete_later(self, c: Container) -> None:
        """Forget the exited container in the runtime off the critical path (a `crun delete`
        costs several ms that `run --rm` would otherwise wait for); the next start of the
        same container waits for it."""

        async def delete() -> None:
            try:
                await self.runtime.delete(c.id, force=True)
                c.in_runtime = False
            except CoveError as e:
                log.warning("runtime delete of %s: %s", c.id, e)
            finally:
                self._deleting.pop(c.id, None)

        self._deleting[c.id] = asyncio.get_running_loop().create_task(delete())

    async def _runtime_forgotten(self, c: Container) -> None:
        task = self._deleting.get(c.id)
        if task is not None:
            await task
        elif c.in_runtime:
            await self.runtime.delete(c.id, force=True)
            c.in_runtime = False

    # --- stop / kill / restart -----------------------------------------------------------
    def exit_future(self, c: Container, cond: str = "next-exit") -> asyncio.Future[int]:
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(c.id, []).append((cond, fut))
        return fut

    def forget_exit_future(self, c: Container, fut: asyncio.Future[int]) -> None:
        with contextlib.suppress(ValueError, KeyError):
            self._waiters[c.id].remove(("next-exit", fut))

    async def _stop(self, ref: str, timeout: int | None, signal: str | None) -> None:
        async with self.checked(ref, "stop", _already_stopped) as c:
            sig = parse_signal(signal or c.config.get("StopSignal"))
            t = timeout if timeout is not None else c.config.get("StopTimeout")
            t = 10 if t is None else int(t)
            fut = self.exit_future(c)
            await self._send_signal(c, sig)
            crashpoint.reached("stop:signalled")
        await self._wait_or_kill(c, fut, t)
        self.emit(c, "stop")

    async def _wait_or_kill(self, c: Container, fut: asyncio.Future[int], t: int) -> None:
        if t < 0:
            await fut
            return
        try:
            await asyncio.wait_for(asyncio.shield(fut), t)
        except TimeoutError:
            await self._send_signal(c, _signal.SIGKILL, True)
            await fut

    async def _send_signal(self, c: Container, sig: int, all_: bool = False) -> None:
        # dockerd reports every signal it sends (stop, restart, rm -f, kill) as a kill event;
        # it goes out first so that a fast exit's die event cannot come before it
        self.emit(c, "kill", {"signal": str(int(sig))})
        await self.runtime.kill(c.id, sig, all_)

    async def kill_step(self, ref: str, signal: str | None) -> None:
        self.find(ref)  # an unknown container is reported before a bad signal
        sig = parse_signal(signal, _signal.SIGKILL)

        def not_running(c: Container) -> Conflict:
            return Conflict(f"Cannot kill container: {ref}: Container {c.id} is not running")

        async with self.checked(ref, "kill", not_running) as c:
            await self._send_signal(c, sig)

    # --- wait -----------------------------------------------------------------------------
    async def container_wait(self, ref: str, condition: str) -> Json:
        c = self.find(ref)
        cond = condition or "not-running"
        if cond not in ("not-running", "next-exit", "removed"):
            from cove.errors import InvalidArgument

            raise InvalidArgument(f"invalid condition: {condition!r}")
        await self.sync(c)
        if cond == "not-running" and c.status not in (Status.RUNNING, Status.PAUSED):
            return {"StatusCode": int(c.state.get("ExitCode", 0)), "Error": None}
        code = await self.exit_future(c, cond)
        return {"StatusCode": code, "Error": None}

    # --- rm -------------------------------------------------------------------------------
    async def remove_step(self, ref: str, force: bool, volumes: bool) -> None:
        c = self.find(ref)
        await self.sync(c)
        if c.status in (Status.RUNNING, Status.PAUSED, Status.RESTARTING):
            if not force:
                raise Conflict(
                    f'cannot remove container "/{c.name}": container is running: stop the '
                    "container before removing or force remove"
                )
            async with self.lock(c.id):
                fut = self.exit_future(c)
                await self._send_signal(c, _signal.SIGKILL, True)
            await fut
        async with self.lock(c.id):
            if c.id not in self.containers:
                raise no_such_container(ref)
            await self._remove_locked(c, volumes)

    def _remove_files(self, c: Container) -> None:
        self.snapshotter.remove(c.id)
        crashpoint.reached("rm:snapshot")
        shutil.rmtree(self.paths.bundle(c.id), ignore_errors=True)
        shutil.rmtree(c.dir, ignore_errors=True)

    async def _remove_locked(self, c: Container, volumes: bool = False) -> None:
        # marked first: a daemon that dies half way finishes the removal at its next start
        c.mark_removing(volumes)
        c.save_state()
        crashpoint.reached("rm:marked")
        if c.id not in self._deleting and c.in_runtime:
            await self.runtime.delete(c.id, force=True)
        crashpoint.reached("rm:runtime")
        await asyncio.to_thread(self._unmount_rootfs, c)
        await self.net.net_release(c)
        for late in self._pending.pop(c.id, []):
            await late.connect(None)
        # a big writable layer takes seconds to delete: off the event loop (the container
        # lock keeps its other requests out meanwhile)
        await asyncio.to_thread(self._remove_files, c)
        self.containers.pop(c.id, None)
        self.volume_service.volumes_detach(c, volumes or bool(c.host_config.get("AutoRemove")))
        if self.names.get(c.name) == c.id:
            del self.names[c.name]
        self.emit(c, "destroy")
        code = int(c.state.get("ExitCode", 0))
        for _cond, fut in self._waiters.pop(c.id, []):
            if not fut.done():
                fut.set_result(code)

    # --- attach / resize -------------------------------------------------------------------
    async def attach_live(self, ref: str, *, stdin: bool) -> AttachSession:
        """The container's live streams (detach.py's ``container_attach`` adds the log
        replay and the detach keys); a created container's session starts with its start."""
        c = self.find(ref)
        await self.sync(c)
        if c.status == Status.PAUSED:
            raise Conflict(f"container {c.id} is paused, unpause the container before attach")
        once = bool(c.config.get("StdinOnce")) and not c.tty
        use_stdin = stdin and bool(c.config.get("OpenStdin"))
        if c.status == Status.RUNNING:
            return _StdinPolicy(await self.runtime.attach(c.id, c.tty), use_stdin, once)
        late = LateSession(c.tty)
        self._pending.setdefault(c.id, []).append(late)
        return _StdinPolicy(late, use_stdin, once)

    async def container_resize(self, ref: str, height: int, width: int) -> None:
        c = self.find(ref)
        if c.status != Status.RUNNING:
            raise Conflict(f"Container {c.id} is not running")
        await self.runtime.resize(c.id, height, width)


def _already_stopped(c: Container) -> NotModified:
    return NotModified("container already stopped")


def _runtime_reason(msg: str, c: Container, rootfs: str | None) -> str:
    """crun's words for a failed exec, restated as runc's, which docker's CLI reads to pick
    exit code 127 (not found) or 126 (cannot be invoked)."""
    reason = not_found_reason(msg)
    if reason is not None:
        return reason
    low = msg.lower()
    path = str(c.data.get("Path", ""))
    if "open executable" in low:
        if rootfs and os.path.isdir(os.path.join(rootfs, path.lstrip("/"))):
            return f'exec: "{path}": is a directory'
        return f'exec: "{path}": permission denied'
    if "no such file or directory" in low and path:
        return f'exec: "{path}": no such file or directory'
    return msg


def _docker_start_error(msg: str) -> str:
    """Docker's wording for a failed start, keeping the runtime's reason."""
    if msg.startswith("failed to create task"):
        return msg
    msg = msg.removeprefix("OCI runtime create failed: ")
    return (
        "failed to create task for container: OCI runtime create failed: "
        f"unable to start container process: {msg}: unknown"
    )
