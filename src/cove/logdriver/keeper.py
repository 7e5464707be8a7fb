"""The rotation keeper: keeps conmon's rotated-away log files as Docker's generations.

conmon (``--log-size-max``) caps the live file: when a write would pass the cap it renames
a fresh file over ``<log>``.  The keeper holds a second name for each live file
(``<log>.keep``, a hard link, made as soon as the file appears); when inotify reports the
rename, the old file is still there under that name and becomes ``<log>.1`` (older
generations move up, the one past ``max-file`` goes, and with ``compress`` it is gzipped
in a worker thread).  The disk a log takes is at most ``max-size x max-file`` (plus a
generation waiting for compression).

The keeper lives in coved; while coved is down conmon goes on writing and capping, and
only the generations rotated away meanwhile are lost (all but one, which the ``.keep``
link still holds when coved comes back): logs never stop and never grow past the cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import struct
from collections import deque
from dataclasses import dataclass, field

from cove.logdriver import files
from cove.logdriver.options import LogPlan

log = logging.getLogger("cove.logs")

IN_MOVED_TO = 0x80
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x01000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC
_EVENT = struct.Struct("iIII")


@dataclass
class _Log:
    path: str
    plan: LogPlan
    pending: deque[str] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None
    seq: int = 0


class LogKeeper:
    def __init__(self) -> None:
        self._libc: ctypes.CDLL | None = None
        self._fd = -1
        self._by_wd: dict[int, _Log] = {}
        self._wd_of: dict[str, int] = {}  # directory -> watch

    # -- public --------------------------------------------------------------------------
    def prepare(self, path: str, plan: LogPlan) -> None:
        """Before the monitor starts: what a previous run left in the live file becomes a
        rotated generation, so the new monitor's size count (it starts at 0) is the file's."""
        entry = self._entry(path, plan)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(files.keep_name(path))
        try:
            if os.path.getsize(path) == 0:
                return
        except FileNotFoundError:
            return
        self._queue(entry, path)

    def watch(self, path: str, plan: LogPlan) -> None:
        """Keep ``path``'s generations from now on (after the monitor started, and for
        running containers when coved starts).  A ``.keep`` name that no longer is the
        live file holds a generation conmon rotated away while nobody watched: kept."""
        entry = self._entry(path, plan)
        keep = files.keep_name(path)
        try:
            if os.stat(keep).st_ino != os.stat(path).st_ino:
                self._queue(entry, keep)
        except FileNotFoundError:
            pass
        self._link(path)

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1
        for entry in self._by_wd.values():
            if entry.worker is not None:
                entry.worker.cancel()
        self._by_wd.clear()
        self._wd_of.clear()

    # -- inotify -------------------------------------------------------------------------
    def _entry(self, path: str, plan: LogPlan) -> _Log:
        d = os.path.dirname(path)
        wd = self._wd_of.get(d)
        if wd is not None and wd in self._by_wd:
            entry = self._by_wd[wd]
            entry.plan = plan
            return entry
        entry = _Log(path, plan)
        wd = self._add_watch(d)
        if wd >= 0:
            self._by_wd[wd] = entry
            self._wd_of[d] = wd
        return entry

    def _add_watch(self, d: str) -> int:
        if self._fd < 0:
            self._libc = ctypes.CDLL(None, use_errno=True)
            fd = self._libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
            if fd < 0:
                log.warning("inotify: %s", os.strerror(ctypes.get_errno()))
                return -1
            self._fd = fd
            asyncio.get_running_loop().add_reader(fd, self._events)
        assert self._libc is not None
        wd = int(self._libc.inotify_add_watch(self._fd, os.fsencode(d), IN_MOVED_TO | IN_ONLYDIR))
        if wd < 0:
            log.warning("inotify watch %s: %s", d, os.strerror(ctypes.get_errno()))
        return wd

    def _events(self) -> None:
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        i = 0
        while i + _EVENT.size <= len(data):
            wd, mask, _cookie, length = _EVENT.unpack_from(data, i)
            name = data[i + _EVENT.size : i + _EVENT.size + length].rstrip(b"\0")
            i += _EVENT.size + length
            entry = self._by_wd.get(wd)
            if entry is None:
                continue
            if mask & IN_IGNORED:  # the directory went: the container was removed
                self._by_wd.pop(wd, None)
                self._wd_of.pop(os.path.dirname(entry.path), None)
                if entry.worker is not None:
                    entry.worker.cancel()
            elif mask & IN_MOVED_TO and name == os.fsencode(os.path.basename(entry.path)):
                self._rotated(entry)

    # -- rotation ------------------------------------------------------------------------
    def _rotated(self, entry: _Log) -> None:
        """conmon renamed a fresh file over the log: the old one (under ``.keep``) waits
        to be shifted in; the new one gets the ``.keep`` name at once."""
        keep = files.keep_name(entry.path)
        with contextlib.suppress(FileNotFoundError):
            self._queue(entry, keep)
        self._link(entry.path)

    def _link(self, path: str) -> None:
        keep = files.keep_name(path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(keep)
        with contextlib.suppress(FileNotFoundError, FileExistsError):
            os.link(path, keep)

    def _queue(self, entry: _Log, name: str) -> None:
        """Rename ``name`` aside (raises FileNotFoundError when it is gone) and have the
        worker shift it in; when compression lags, the oldest waiting generation goes
        rather than the disk filling."""
        entry.seq += 1
        pending = f"{entry.path}.pending.{entry.seq}"
        os.rename(name, pending)
        entry.pending.append(pending)
        while len(entry.pending) > max(entry.plan.max_file, 1):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.pending.popleft())
        if entry.worker is None or entry.worker.done():
            entry.worker = asyncio.get_running_loop().create_task(self._work(entry))

    async def _work(self, entry: _Log) -> None:
        while entry.pending:
            pending = entry.pending.popleft()
            plan = entry.plan
            try:
                first = await asyncio.to_thread(files.shift_in, entry.path, pending, plan.max_file)
                if first is not None and plan.compress:
                    await asyncio.to_thread(files.compress, first)
            except OSError as e:  # the container's directory went meanwhile, disk full...
                log.warning("log rotation of %s: %s", entry.path, e)
