"""The json-file writer: conmon's records in from a FIFO, Docker's ``<id>-json.log`` out.

conmon writes its k8s-file records into ``<container dir>/json-log.fifo`` (a FIFO, so
nothing of conmon's format reaches the disk); the keeper process holds the FIFO's read side
and runs one ``JsonPump`` for all containers: one thread waits on every FIFO (epoll),
reads what is there (up to ``READ`` bytes), converts whole records to Docker's lines
(``jsonlog.Converter``) and appends them to the container's file, which it rotates at
``max-size`` as dockerd does (the live file renamed aside, a new one started; a second
thread shifts the generations, keeps ``max-file`` files and gzips with ``compress``).

When the pump is slower than the container, the FIFO fills and conmon waits in its write,
so the container waits on its stdout, as under dockerd.  A keeper that dies leaves conmon
writing into a FIFO without a reader: conmon ignores SIGPIPE and drops those records
(EPIPE) until a keeper opens the FIFO again (a new keeper opens every FIFO its entries
name), so the container never hangs on a missing keeper.  When the container's monitor
has exited, what is left in the FIFO is read, a line left without its newline is written
as dockerd writes it, and the entry ends.

``drain`` gives ``logs`` read-your-writes: the pump thread converts what the FIFO holds at
once and answers; for a container that has exited (its monitor has no child left) the
answer waits until the monitor has exited and the entry ended, so the file is complete.
A monitor that is a zombie counts as exited (this machine's PID 1 reaps it seconds late).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import queue
import select
import stat
import struct
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cove.logdriver import files
from cove.logdriver.jsonlog import Converter

log = logging.getLogger("cove.logs")

READ = 1 << 20  # bytes of FIFO per read: a MiB converts in a few ms
PIPE_SIZE = 1 << 20  # the FIFO's buffer, so conmon rarely waits for the pump
MAX_ASKED = 256  # drain requests waiting for the pump thread
FORWARD_WAIT = 0.05  # seconds a drain waits for conmon to forward what the container wrote
FIFO_NAME = "json-log.fifo"
# After a read that found little in the FIFO (conmon forwards in 8 KiB writes), the pump
# thread rests BATCH_PAUSE before it polls again, so a fast writer's next read takes many of
# conmon's writes at once: waking, reading and writing for each 8 KiB cost the keeper about
# 5.5 s of CPU per GB (1.8 s with the rest), on a core that conmon and the container needed.
# Half a millisecond is no delay a reader of the log can see; longer rests let the FIFO fill,
# and then conmon, and the container behind it, wait (5 ms was slower than none).  A drain
# (``logs`` asking for read-your-writes) never waits for it.
BATCH_PAUSE = 0.0005
SMALL_READ = 256 << 10


def fifo_path(log_path: str) -> str:
    return os.path.join(os.path.dirname(log_path), FIFO_NAME)


def open_fifo(path: str) -> int:
    """Make the FIFO (a stale non-FIFO file at its name goes) and open it for reading and
    writing without blocking: the open never waits for a writer, and while it is held
    conmon's own open never waits for a reader and its writes never fail."""
    try:
        if not stat.S_ISFIFO(os.lstat(path).st_mode):
            os.unlink(path)
            os.mkfifo(path, 0o600)
    except FileNotFoundError:
        os.mkfifo(path, 0o600)
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    with contextlib.suppress(OSError):  # above pipe-max-size, unprivileged: the default
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    return fd


@dataclass
class Sink:
    """One container: its FIFO, what is left of a record, its file and its caps."""

    name: str  # the control entry's name
    path: str  # <id>-json.log
    fd: int  # the FIFO
    max_size: int
    max_file: int
    compress: bool
    monitor_pid: int
    out: int = -1
    size: int = 0
    carry: bytes = b""
    conv: Converter = field(default_factory=Converter)
    # drain requests answered when the entry ends (its container exited, its monitor not yet)
    waiting: list[Callable[[], None]] = field(default_factory=list)


class JsonPump:
    def __init__(self, on_end: Callable[[str, int], None] | None = None) -> None:
        """``on_end``: called (in the pump's thread) with an entry's name and monitor once
        that monitor exited and everything it wrote is in the file."""
        self._on_end = on_end
        self._ep = select.epoll()
        self._pidfds: dict[int, int] = {}  # a monitor's pidfd -> its FIFO's fd
        self._lock = threading.Lock()
        self._sinks: dict[int, Sink] = {}  # by FIFO fd
        self._by_name: dict[str, Sink] = {}
        self._stop = False
        self._rotations: queue.SimpleQueue[tuple[str, str, int, bool] | None] = queue.SimpleQueue()
        self._done: list[str] = []  # entries whose monitor ended and whose FIFO was drained
        # drain requests (an entry's name, the answer) for the pump thread; the eventfd wakes it
        self._asked: list[tuple[str, Callable[[], None]]] = []
        self._wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._ep.register(self._wake, select.EPOLLIN)
        self._threads = [
            threading.Thread(target=self._loop, name="json-pump", daemon=True),
            threading.Thread(target=self._rotator, name="json-rotation", daemon=True),
        ]
        for t in self._threads:
            t.start()

    # -- control (the keeper's main thread) ------------------------------------------------
    def watch(
        self, name: str, path: str, fifo: str, max_size: int, max_file: int, compress: bool,
        monitor_pid: int, fd: int | None = None,
    ) -> None:  # fmt: skip
        """Convert ``fifo`` into ``path`` (``fd``: the FIFO, opened by coved; else opened
        here by its name).  An entry already watched gets its new caps and monitor."""
        with self._lock:
            old = self._by_name.get(name)
            if old is not None:
                old.max_size, old.max_file, old.compress = max_size, max_file, compress
                renewed, old.monitor_pid = old.monitor_pid != monitor_pid, monitor_pid
                if fd is not None:
                    os.close(fd)
            if old is not None:
                if renewed:
                    self._watch_monitor(old)
                return
        if fd is None:
            try:
                fd = open_fifo(fifo)
            except OSError as e:
                log.warning("json log %s: %s", fifo, e)
                return
        sink = Sink(name, path, fd, max_size, max_file, compress, monitor_pid)
        with self._lock:
            self._sinks[fd] = sink
            self._by_name[name] = sink
        self._ep.register(fd, select.EPOLLIN)
        self._watch_monitor(sink)

    def drain(self, name: str, answer: Callable[[], None]) -> None:
        """Read-your-writes for ``logs``: the pump thread writes what entry ``name``'s FIFO
        holds now (an entry whose monitor exited is ended: its file is then complete), then
        calls ``answer`` (also for a name it does not watch: nothing of it is waiting)."""
        with self._lock:
            if len(self._asked) >= MAX_ASKED:  # bounded: a flood of requests is answered
                answer()  # at once, without a drain, rather than queued without end
                return
            self._asked.append((name, answer))
        with contextlib.suppress(OSError):
            os.eventfd_write(self._wake, 1)

    def watching(self) -> int:
        with self._lock:
            return len(self._sinks)

    def finished(self) -> list[str]:
        """Entries that ended since the last call."""
        with self._lock:
            done, self._done = self._done, []
        return done

    def close(self) -> None:
        self._stop = True
        self._rotations.put(None)
        for t in self._threads:
            t.join(5)
        with self._lock:
            for sink in self._sinks.values():
                self._drain(sink)
                self._end(sink)
                for answer in sink.waiting:
                    _call(answer)
            self._sinks.clear()
            self._by_name.clear()
        self._answer()
        self._ep.close()
        os.close(self._wake)

    # -- the pump thread ---------------------------------------------------------------------
    def _loop(self) -> None:
        last_check = 0.0
        while not self._stop:
            try:
                events = self._ep.poll(0.5)
            except OSError:
                return
            exited = asked = small = False
            for fd, _mask in events:
                if fd == self._wake:
                    asked = True
                    with contextlib.suppress(OSError):
                        os.eventfd_read(self._wake)
                    continue
                if fd in self._pidfds:  # one wake-up a monitor: the pidfd goes
                    exited = True
                    self._drop_pidfd(fd)
                    continue
                with self._lock:
                    sink = self._sinks.get(fd)
                if sink is not None:
                    try:
                        got = self._pump(sink, READ)
                        if 0 < got < SMALL_READ:
                            small = True
                    except Exception:
                        # a pump thread that died would leave every FIFO full and every
                        # json-file container waiting on its stdout: that read is dropped
                        log.exception("json log %s", sink.path)
                        sink.carry = b""
            if exited or time.monotonic() - last_check >= 0.5:
                last_check = time.monotonic()
                try:
                    self._reap()
                except Exception:
                    log.exception("json log: ending an entry")
            if asked:
                self._answer()
            elif small:
                time.sleep(BATCH_PAUSE)

    def _answer(self) -> None:
        """The drain requests: exited monitors' entries are ended first, then each asked
        entry's FIFO is read up to what it held when the pump got to it (a container that
        writes without pause does not hold the pump here), then the asker is answered."""
        with self._lock:
            asked, self._asked = self._asked, []
        if not asked:
            return
        try:
            self._reap()
        except Exception:
            log.exception("json log: ending an entry")
        for name, answer in asked:
            with self._lock:
                sink = self._by_name.get(name)
            if sink is not None and sink.fd >= 0:
                try:
                    self._drain_forwarded(sink)
                except Exception:
                    log.exception("json log %s", sink.path)
                if len(sink.waiting) < MAX_ASKED and _container_ended(sink.monitor_pid):
                    # the container's output may still be in the monitor's pipe: the answer
                    # waits until the monitor, which reads it all before it exits, is gone
                    sink.waiting.append(answer)
                    continue
            _call(answer)

    def _drain_forwarded(self, sink: Sink) -> None:
        """Drain the FIFO, and while the container's stdout and stderr pipes hold bytes that
        conmon has not read yet (``FORWARD_WAIT`` at most), drain it again: what the
        container wrote before ``logs`` was asked is in the file, unless conmon lags more."""
        self._drain_held(sink)
        deadline = time.monotonic() + FORWARD_WAIT
        waited = False
        while _unread(sink.monitor_pid) > 0 and time.monotonic() < deadline:
            waited = True
            time.sleep(0.001)
            self._drain_held(sink)
        if waited:
            time.sleep(0.001)  # conmon writes what it read into the FIFO right after
            self._drain_held(sink)

    def _drain_held(self, sink: Sink) -> None:
        try:
            held = struct.unpack("i", fcntl.ioctl(sink.fd, termios.FIONREAD, b"\0" * 4))[0]
        except OSError:
            return

        while held > 0:
            got = self._pump(sink, min(READ, held))
            if not got:
                return
            held -= got

    def _pump(self, sink: Sink, limit: int) -> int:
        """Read what the FIFO holds (at most ``limit``), write it converted."""
        try:
            data = os.read(sink.fd, limit)
        except BlockingIOError:
            return 0
        except OSError as e:
            log.warning("json log %s: %s", sink.path, e)
            return 0
        if not data:
            return 0
        buf = sink.carry + data if sink.carry else data
        cut = buf.rfind(b"\n") + 1
        sink.carry = buf[cut:]
        if cut:
            self._write(sink, sink.conv.feed(buf[:cut]))
        return len(data)

    def _reap(self) -> None:
        """End the entries whose monitor exited: read the FIFO to its end first."""
        with self._lock:
            gone = [s for s in self._sinks.values() if _exited(s.monitor_pid)]
        for sink in gone:
            self._drain(sink)
            with self._lock:
                self._sinks.pop(sink.fd, None)
                self._by_name.pop(sink.name, None)
                self._done.append(sink.name)
            for pidfd in [p for p, f in self._pidfds.items() if f == sink.fd]:
                self._drop_pidfd(pidfd)
            self._end(sink)
            if self._on_end is not None:
                self._on_end(sink.name, sink.monitor_pid)
            for answer in sink.waiting:
                _call(answer)
            sink.waiting.clear()

    def _drop_pidfd(self, pidfd: int) -> None:
        del self._pidfds[pidfd]
        with contextlib.suppress(OSError, ValueError):
            self._ep.unregister(pidfd)
        os.close(pidfd)

    def _watch_monitor(self, sink: Sink) -> None:
        """The monitor's exit wakes the pump at once (a pidfd is readable then), so the
        file is complete right after the container stopped; else a look every 0.5 s."""
        with contextlib.suppress(OSError):
            pidfd = os.pidfd_open(sink.monitor_pid)
            self._pidfds[pidfd] = sink.fd
            self._ep.register(pidfd, select.EPOLLIN)

    def _drain(self, sink: Sink) -> None:
        while self._pump(sink, READ):
            pass

    def _end(self, sink: Sink) -> None:
        tail = sink.carry + b"\n" if sink.carry else b""
        self._write(sink, sink.conv.feed(tail) + sink.conv.flush())
        with contextlib.suppress(OSError, ValueError):
            self._ep.unregister(sink.fd)
        for fd in (sink.fd, sink.out):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        sink.fd = sink.out = -1

    # -- the file ------------------------------------------------------------------------------
    def _open(self, sink: Sink) -> bool:
        try:
            sink.out = os.open(
                sink.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640
            )
        except OSError as e:  # the container was removed meanwhile, disk full...
            log.warning("json log %s: %s", sink.path, e)
            return False
        sink.size = os.fstat(sink.out).st_size
        return True

    def _write(self, sink: Sink, data: bytes) -> None:
        """Append ``data`` (whole lines) as dockerd does: a file that reached ``max-size``
        is rotated before the next line, so it passes ``max-size`` by at most one line and
        the live file is never left empty by a rotation."""
        while data:
            if sink.out < 0 and not self._open(sink):
                return
            if sink.size >= sink.max_size:
                if not self._rotate(sink):
                    return  # cannot rotate (the directory went...): dropped, never grown
                continue
            room = sink.max_size - sink.size
            cut = len(data)
            if room < len(data):
                cut = data.find(b"\n", room - 1) + 1 or len(data)
            try:
                _write_all(sink.out, data[:cut])
            except OSError as e:
                if e.errno not in (errno.ENOSPC, errno.EDQUOT):
                    log.warning("json log %s: %s", sink.path, e)
                return  # the lines are dropped: the container must not wait on a full disk
            sink.size += cut
            data = data[cut:]

    def _rotate(self, sink: Sink) -> bool:
        """The live file goes aside (a rename: readers that hold it keep reading) and a new
        one starts; the generations are shifted by the rotation thread.  When that thread
        lags (compression under a fast writer), the oldest waiting file goes rather than
        the disk filling."""
        waiting = [f for f, _gz in files.readable(sink.path) if ".pending." in f]
        for old in waiting[: max(len(waiting) - sink.max_file + 1, 0)]:
            with contextlib.suppress(OSError):
                os.unlink(old)
        pending = f"{sink.path}.pending.{time.time_ns()}"
        with contextlib.suppress(OSError):
            os.close(sink.out)
        sink.out, sink.size = -1, 0
        try:
            os.rename(sink.path, pending)
        except OSError as e:
            log.warning("json log rotation %s: %s", sink.path, e)
            return False
        self._rotations.put((sink.path, pending, sink.max_file, sink.compress))
        return self._open(sink)

    def _rotator(self) -> None:
        while (job := self._rotations.get()) is not None:
            path, pending, max_file, gz = job
            try:
                first = files.shift_in(path, pending, max_file)
                if first is not None and gz:
                    files.compress(first)
            except OSError as e:
                log.warning("json log rotation %s: %s", path, e)


def _call(answer: Callable[[], None]) -> None:
    try:
        answer()
    except Exception:
        log.exception("json log: answering a drain")


def _exited(pid: int) -> bool:
    """Whether the monitor has exited: gone, or a zombie (its parent here, the machine's
    PID 1, can take seconds to reap it, and it wrote its last record before it exited)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def _unread(monitor_pid: int) -> int:
    """Bytes the monitor's children (the container's process) wrote to their stdout and
    stderr pipes that the monitor has not read yet (0 when unknown)."""
    try:
        with open(f"/proc/{monitor_pid}/task/{monitor_pid}/children") as f:
            children = f.read().split()
    except OSError:
        return 0
    total, seen = 0, set()
    for child in children:
        for n in (1, 2):
            link = f"/proc/{child}/fd/{n}"
            try:
                target = os.readlink(link)
                if not target.startswith("pipe:") or target in seen:
                    continue
                seen.add(target)
                fd = os.open(link, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                total += struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]
            except OSError:
                pass
            finally:
                os.close(fd)
    return total


def _container_ended(monitor_pid: int) -> bool:
    """Whether the monitor (conmon, the container's subreaper) has no child left: its
    container has exited and the monitor is about to end.  False when unknown."""
    try:
        with open(f"/proc/{monitor_pid}/task/{monitor_pid}/children") as f:
            return not f.read().strip()
    except OSError:
        return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
