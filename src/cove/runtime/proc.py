"""Small process and pipe helpers for the runtime driver, on the asyncio loop (``run``
waits in a worker thread).

No polling anywhere: a process' exit is a readable pidfd, a pipe message a readable fd.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


async def wait_pid(pid: int) -> None:
    """Return when ``pid`` has exited (at once when it is already gone).  Works for any
    process, not only our children: conmon double-forks away from us."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        await _readable(fd)
    finally:
        os.close(fd)


async def _readable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not fut.done():
            fut.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await fut
    finally:
        loop.remove_reader(fd)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid_start_time(pid: int) -> int:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); 0 if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0
    rest = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(rest[19])
    except (IndexError, ValueError):
        return 0


class PipeReader:
    """Reads newline-terminated JSON messages (conmon's sync/attach pipes) from a pipe
    read end it owns.  ``message()`` returns None at EOF (the writer went away)."""

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self.fd = fd
        self._buf = b""
        self._eof = False

    async def message(self) -> dict[str, Any] | None:
        while b"\n" not in self._buf:
            if self._eof or self.fd < 0:
                return None
            try:
                data = os.read(self.fd, 4096)
            except BlockingIOError:
                await _readable(self.fd)
                continue
            if not data:
                self._eof = True
                if not self._buf.strip():
                    return None
                break
            self._buf += data
        line, _, self._buf = self._buf.partition(b"\n")
        try:
            msg = json.loads(line)
        except ValueError:
            return {"data": -1, "message": line.decode(errors="replace")}
        return msg if isinstance(msg, dict) else None

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


async def run(
    argv: list[str],
    timeout: float = 60.0,
    *,
    pass_fds: tuple[int, ...] = (),
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    daemonizes: bool = False,
) -> tuple[int, str, str]:
    """Run ``argv`` (no shell); return (exit status, stdout, stderr stripped); TimeoutError
    (the command killed) after ``timeout`` seconds.  ``pass_fds``, ``env``, ``cwd`` as for
    ``subprocess``; ``daemonizes``: the command leaves a daemon that keeps its stdio (conmon),
    so its output goes to unlinked files instead of pipes (whose end would never come).

    Started and waited for in a worker thread, not through asyncio's subprocess transport:
    on Python 3.11 a task cancelled while that transport connects its pipes never finishes
    (CPython gh-103847, gh-125502), and coved's shutdown, which cancels the requests in
    flight, hung for good when SIGTERM came during a ``rm -f`` (its ``crun kill``).  A
    cancelled caller stops waiting; the command runs to its end (or its timeout), so a
    runtime's ``kill`` or ``delete`` is never cut half way; fork and exec leave the loop too.
    """

    def work() -> tuple[int, str, str]:
        with contextlib.ExitStack() as files:
            out: Any = subprocess.PIPE
            err: Any = subprocess.PIPE
            if daemonizes:
                out = files.enter_context(tempfile.TemporaryFile())
                err = files.enter_context(tempfile.TemporaryFile())
            try:
                r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   timeout=timeout, check=False, pass_fds=pass_fds, env=env,
                                   cwd=cwd)  # fmt: skip
            except subprocess.TimeoutExpired:
                raise TimeoutError(f"{argv[0]} did not finish within {timeout:g}s") from None
            texts = [_text(r.stdout, out), _text(r.stderr, err)]
        return r.returncode, texts[0], texts[1].strip()

    return await asyncio.to_thread(work)


def _text(captured: bytes | None, file: Any) -> str:
    if captured is None:  # written to ``file``
        file.seek(0)
        captured = file.read()
    return (captured or b"").decode(errors="replace")


async def to_end(aw: Awaitable[T]) -> T:
    """Await ``aw`` to its end even when the caller is cancelled meanwhile, then raise the
    cancellation.  For steps that must not be cut half way (a monitor launched but its pid
    file not yet written: the cleanup would not find it); ``aw`` must be bounded in time."""
    task = asyncio.ensure_future(aw)
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait([task])  # a cancelled wait leaves ``task`` running
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller sees
        raise asyncio.CancelledError
    return task.result()


def read_int_file(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None
