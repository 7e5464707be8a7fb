"""The rotation keeper: keeps conmon's rotated-away log files as Docker's generations.

conmon (``--log-size-max``) caps the live file: when a write would pass the cap it renames
a fresh file over ``<log>``.  The keeper holds a second name for each live file
(``<log>.keep``, a hard link, made as soon as the file appears); when inotify reports the
rename, the old file is still there under that name and becomes ``<log>.1`` (older
generations move up, the one past ``max-file`` goes, and with ``compress`` it is gzipped
in a worker thread).  The disk a log takes is at most ``max-size x max-file`` (plus a
generation waiting for compression).

Besides, the keeper leaves ``<log>.tmp`` as a symbolic link to a new, unique
``<log>.gen.<n>``: conmon opens that name to start its next file, so the file it creates
is the link's target, and the rename then replaces only the link.  Each generation so has
a name of its own before conmon even writes to it, and one rotation more than the keeper
has seen loses nothing.

One thread blocks on inotify, so it links a new file within microseconds of conmon's
rename (a generation rotated away before that, by a tiny max-size under a very fast
writer, can be lost; the cap still holds); a second thread shifts and compresses.  The
class runs in the keeper process (``keeperd``), which outlives coved restarts as conmon
does; the tests drive it in process.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import queue
import select
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from cove.logdriver import files
from cove.logdriver.options import LogPlan

log = logging.getLogger("cove.logs")

IN_MOVED_TO = 0x80
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x01000000
_EVENT = struct.Struct("iIII")


@dataclass
class _Log:
    path: str
    plan: LogPlan
    pending: deque[str] = field(default_factory=deque)


class LogKeeper:
    def __init__(self) -> None:
        self._libc: ctypes.CDLL | None = None
        self._fd = -1
        self._wake = (-1, -1)
        self._lock = threading.Lock()  # the tables and every entry's pending queue
        self._by_wd: dict[int, _Log] = {}
        self._wd_of: dict[str, int] = {}  # directory -> watch
        self._work: queue.SimpleQueue[_Log | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    # -- public --------------------------------------------------------------------------
    def prepare(self, path: str, plan: LogPlan) -> None:
        """Before the monitor starts: what a previous run left in the live file becomes a
        rotated generation, so the new monitor's size count (it starts at 0) is the file's."""
        files.set_aside(path)
        with self._lock:
            self._orphans(self._entry(path, plan), -1)

    def watch(self, path: str, plan: LogPlan) -> None:
        """Keep ``path``'s generations from now on (after the monitor started, and for
        running containers when coved starts: generations conmon made meanwhile that still
        have a name are kept)."""
        with self._lock:
            self._rotated(self._entry(path, plan))

    def close(self) -> None:
        """Stop both threads (what waits to be shifted stays as ``.pending`` files)."""
        if self._fd < 0:
            return
        os.write(self._wake[1], b"x")
        self._work.put(None)
        for t in self._threads:
            t.join(5)
        for fd in (self._fd, *self._wake):
            os.close(fd)
        self._fd, self._wake = -1, (-1, -1)
        self._threads.clear()
        with self._lock:
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
        if self._fd < 0 and not self._start():
            return -1
        assert self._libc is not None
        wd = int(self._libc.inotify_add_watch(self._fd, os.fsencode(d), IN_MOVED_TO | IN_ONLYDIR))
        if wd < 0:
            log.warning("inotify watch %s: %s", d, os.strerror(ctypes.get_errno()))
        return wd

    def _start(self) -> bool:
        self._libc = ctypes.CDLL(None, use_errno=True)
        fd = self._libc.inotify_init1(os.O_CLOEXEC)
        if fd < 0:
            log.warning("inotify: %s", os.strerror(ctypes.get_errno()))
            return False
        self._fd, self._wake = fd, os.pipe2(os.O_CLOEXEC)
        self._threads = [
            threading.Thread(target=self._watcher, name="log-keeper", daemon=True),
            threading.Thread(target=self._worker, name="log-rotation", daemon=True),
        ]
        for t in self._threads:
            t.start()
        return True

    def _watcher(self) -> None:
        fd, wake = self._fd, self._wake[0]
        while True:
            ready, _, _ = select.select([fd, wake], [], [])
            if wake in ready:
                return
            data = os.read(fd, 65536)
            with self._lock:
                self._events(data)

    def _events(self, data: bytes) -> None:
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
            elif mask & IN_MOVED_TO and name == os.fsencode(os.path.basename(entry.path)):
                self._rotated(entry)

    # -- rotation ------------------------------------------------------------------------
    def _rotated(self, entry: _Log) -> None:
        """conmon put a fresh file in place (or we just started watching): every other
        generation that still has a name waits to be shifted in, the live file gets the
        ``.keep`` name, and the next file's name is laid out.  Called with the lock held."""
        try:
            live = os.stat(entry.path).st_ino
        except FileNotFoundError:
            return
        self._orphans(entry, live)
        files.hold_live(entry.path)

    def _orphans(self, entry: _Log, live: int) -> None:
        """Queue, oldest first, the generations other than the live file (inode ``live``)
        that still have a name: ``.keep``, ``.gen.<n>`` and ``.pending.<n>`` files (set
        aside at a start, or left by a keeper that stopped)."""
        d, base = os.path.split(entry.path)
        found: dict[int, list[str]] = {}
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(d):
                full = os.path.join(d, name)
                if full in entry.pending:
                    continue  # queued already
                if name == base + ".keep" or name.startswith((base + ".gen.", base + ".pending.")):
                    with contextlib.suppress(FileNotFoundError):
                        ino = os.stat(os.path.join(d, name)).st_ino
                        found.setdefault(ino, []).append(os.path.join(d, name))
        # a file conmon moved to after ``live`` was taken is live now: it stays (a file
        # that is not live at this second look can never be live again)
        with contextlib.suppress(FileNotFoundError):
            found.pop(os.stat(entry.path).st_ino, None)
        found.pop(live, None)
        # oldest first by the first record's time: file times move in coarse ticks, and
        # conmon starts many files within one under a fast writer
        ordered = sorted((_first_time(names[0]), sorted(names)) for names in found.values())
        for first, names in ordered:
            for extra in names[1:]:  # one file, two names: one is enough
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(extra)
            with contextlib.suppress(FileNotFoundError):
                if first:
                    self._queue(entry, names[0])
                else:  # empty: nothing to keep
                    os.unlink(names[0])

    def _queue(self, entry: _Log, name: str) -> None:
        """Rename ``name`` aside (raises FileNotFoundError when it is gone) and have the
        worker shift it in; when compression lags, the oldest waiting generation goes
        rather than the disk filling.  Called with the lock held."""
        pending = f"{entry.path}.pending.{time.time_ns()}"
        os.rename(name, pending)
        entry.pending.append(pending)
        while len(entry.pending) > max(entry.plan.max_file, 1):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.pending.popleft())
        self._work.put(entry)

    def _worker(self) -> None:
        while (entry := self._work.get()) is not None:
            while True:
                with self._lock:
                    if not entry.pending:
                        break
                    pending, plan = entry.pending.popleft(), entry.plan
                try:
                    first = files.shift_in(entry.path, pending, plan.max_file)
                    if first is not None and plan.compress:
                        files.compress(first)
                except OSError as e:  # the container's directory went meanwhile, disk full...
                    log.warning("log rotation of %s: %s", entry.path, e)


def _first_time(name: str) -> bytes:
    """The first record's timestamp (conmon writes them in one zone, so they sort as
    text); b"" for an empty file."""
    try:
        with open(name, "rb") as f:
            return f.read(64).split(b" ", 1)[0]
    except FileNotFoundError:
        return b""
