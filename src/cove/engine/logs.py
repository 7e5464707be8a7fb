"""``docker logs``: a container's log read back through the log driver package's reader.

Every read of the disk runs in a worker thread one bounded step at a time (at most a block
of the file), so the event loop keeps serving while a big log is read; the stream stops at
the first step after its client left (the server closes this generator).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from cove.errors import InvalidArgument, NotImplementedYet
from cove.logdriver import files, jsonlog, keeperd, options, pump
from cove.logdriver.options import LogPlan
from cove.logdriver.reader import LogReader
from cove.util.bridge import WorkerPool
from cove.util.streams import Chunk

log = logging.getLogger("cove.engine")

POLL = 0.05  # seconds between looks at a followed log that has nothing new
# One reader step at a time in the whole daemon: each holds the GIL for a few milliseconds
# of parsing, and several at once starve the event loop (/_ping latency) for no more speed.
_STEP = threading.Lock()
# the readers' opens and steps: threads of their own, so a slow disk under many readers
# does not hold up the default executor's other work
_READS = WorkerPool(4, "cove-logread")


def _step(reader: LogReader) -> list[tuple[int, bytes]] | None:
    with _STEP:
        return reader.step()


def tail_count(tail: str) -> int | None:
    """Docker's ``tail`` parameter: "all" (or anything not a number, or negative) is
    every line."""
    if tail in ("", "all"):
        return None
    try:
        n = int(tail)
    except ValueError:
        return None
    return None if n < 0 else n


def read_log(
    path: str,
    *,
    follow: bool,
    streams: set[int],
    since: float,
    until: float,
    timestamps: bool,
    tail: str,
    running: Callable[[], bool],
) -> AsyncIterator[Chunk]:
    async def gen() -> AsyncIterator[Chunk]:
        def opener() -> LogReader:
            return LogReader(
                path, streams=frozenset(streams), since=since, until=until,
                timestamps=timestamps, tail=tail_count(tail), follow=follow,
            )  # fmt: skip

        if not follow and not running():
            await _settled(path)
        else:
            await _drained(path)  # read-your-writes: what the container wrote is in the file
        reader = await _READS.call(opener)
        # the step as the pool's own future: cancelling the await cancels a step not yet
        # started, and one that runs still reads the files, so they are closed after it
        inflight: concurrent.futures.Future[Any] | None = None
        settled = not follow
        try:
            while True:
                # look at the container before reading: once it stopped, what conmon
                # flushed before exiting is read, then the stream ends
                stopped = not follow or not running()
                inflight = _READS.submit(_step, reader)
                out = await asyncio.wrap_future(inflight)
                inflight = None
                if out:
                    for stream, data in out:
                        yield Chunk(stream, data)
                    continue
                if out is not None:
                    continue  # a block whose records were all filtered out
                if stopped:
                    if settled:
                        return
                    await _settled(path)  # the keeper's last lines, then read on once
                    settled = True
                    continue
                await asyncio.sleep(POLL)
        finally:
            if inflight is not None and not inflight.done():
                # a step still runs in its thread: close the files once it is done
                inflight.add_done_callback(lambda _f: reader.close())
            else:
                with contextlib.suppress(Exception):
                    reader.close()

    return gen()


DRAIN_WAIT = 1.0  # seconds at most for the keeper's answer; then the file is read as it is


def _keeper_of(path: str) -> tuple[str, str]:
    """The control directory and the container id of a json-file log's path."""
    cdir = os.path.dirname(path)
    control = os.path.join(os.path.dirname(os.path.dirname(cdir)), "log-keeper")
    return control, os.path.basename(cdir)


async def _drained(path: str) -> None:
    """A json-file log of a running container: the keeper writes what conmon has put in
    the container's FIFO before ``logs`` reads, so ``start`` then ``logs`` shows what the
    container wrote, as under dockerd.  When the container has just exited and conmon is
    still forwarding its output, the keeper answers once conmon has exited and the file is
    complete.  One round trip on the keeper's socket, asyncio I/O only; a keeper that is
    down, busy or gone (no answer within ``DRAIN_WAIT``) leaves the file read as it is.
    What the container wrote that conmon has not read yet is waited for briefly (50 ms at
    most, ``pump.FORWARD_WAIT``)."""
    if not jsonlog.is_json_path(path):
        return
    control, cid = _keeper_of(path)
    try:
        sock = keeperd.drain(control, cid)
    except OSError:
        return
    if sock is None:
        return
    try:
        await asyncio.wait_for(asyncio.get_running_loop().sock_recv(sock, 1), DRAIN_WAIT)
    except (OSError, TimeoutError):
        pass
    finally:
        sock.close()


async def _settled(path: str) -> None:
    """A json-file log of a container that stopped: wait (3 s at most) until the keeper has
    written what was still in the FIFO and ended the entry (at once when the monitor exits
    just after the container), so ``wait`` then ``logs`` shows it all, as dockerd finishes
    its log copier before it reports the exit.  No wait for a k8s-file log, or when no
    keeper runs."""
    if not jsonlog.is_json_path(path):
        return
    control, cid = _keeper_of(path)
    entry = os.path.join(control, cid + ".json")
    for _ in range(150):  # 3 s at most
        try:
            with open(entry) as f:
                monitor = int(json.load(f).get("monitor_pid", 0))
        except (OSError, ValueError, TypeError, AttributeError):
            return  # no entry: the keeper is done with it
        if not monitor or not keeperd.running(control):
            return
        await asyncio.sleep(0.02)


# --- the driver around a container's start ----------------------------------------------------


def plan_of(host_config: dict[str, Any]) -> LogPlan:
    """The plan of a recorded ``LogConfig`` (checked at create; a record from an older cove
    that does not pass gets cove's default caps)."""
    try:
        return options.plan(host_config.get("LogConfig") or {})
    except InvalidArgument:
        return LogPlan("json-file")


def check_readable(host_config: dict[str, Any]) -> None:
    if plan_of(host_config).driver == "none":
        raise NotImplementedYet("configured logging driver does not support reading")


def _control_dir(engine: Any) -> str:
    """Where coved tells the keeper process what to keep: beside the containers' logs (the
    keeper serves the whole daemon, as coved does, not one container)."""
    return os.path.join(str(engine.paths.data_root), "log-keeper")


def new_log_path(container_dir: str, cid: str, plan: LogPlan) -> str:
    """Where a new container's log goes (its ``LogPath``): Docker's ``<id>-json.log`` for
    ``json-file``, written by the keeper; conmon's own k8s-file ``container.log`` for the
    other drivers (``local``, ``k8s-file``, and the local copy of ``syslog``/``journald``).
    A container keeps the kind it was created with (one made by an older cove keeps its
    ``container.log``)."""
    name = f"{cid}-json.log" if plan.driver == "json-file" else "container.log"
    return os.path.join(container_dir, name)


def log_path_of(paths: Any, cid: str, record: dict[str, Any]) -> str:
    """A container's log file: the ``LogPath`` it was created with (its directory's own
    file), else the k8s-file name older coves used."""
    recorded = record.get("LogPath")
    cdir = str(paths.container_dir(cid))
    if isinstance(recorded, str) and os.path.dirname(recorded) == cdir:
        return recorded
    return str(paths.log_path(cid))


# FIFOs opened for a monitor about to start, until the keeper has them (by FIFO path)
_held: dict[str, int] = {}


def release(path: str) -> None:
    """The start failed before ``after_start``: drop the FIFO held for it."""
    fd = _held.pop(pump.fifo_path(path), -1)
    if fd >= 0:
        os.close(fd)


def before_start(engine: object, path: str, plan: LogPlan) -> dict[str, Any]:
    """Ready the log for a new monitor; returns the IOConfig fields that tell conmon how
    to write it."""
    if not plan.writes_file:
        return {"log_path": None}
    if jsonlog.is_json_path(path):
        # conmon writes its records into a FIFO that the keeper converts; opened here for
        # reading and writing so conmon's open and writes never wait for the keeper
        fifo = pump.fifo_path(path)
        release(path)
        _held[fifo] = pump.open_fifo(fifo)
        # the file exists from the start, as dockerd's does (a follower opens it at once)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640))
        return {"log_path": fifo, "log_size_max": 0}
    files.set_aside(path)
    return {
        "log_path": path,
        "log_size_max": plan.max_size,
        "log_journald": plan.driver == "journald",
        "log_tag": plan.tag if plan.driver == "journald" else "",
    }


async def after_start(
    engine: object, path: str, plan: LogPlan, monitor_pid: int, container: dict[str, Any]
) -> None:
    """The monitor runs: the live file gets its second name at once, the keeper process
    is told to keep its rotations (and started if none runs), the syslog forwarder starts."""
    if not plan.writes_file:
        return
    cid = str(container.get("Id", ""))
    control = _control_dir(engine)
    if jsonlog.is_json_path(path):
        await _hand_over(control, cid, path, plan, monitor_pid)
        return
    if not os.path.lexists(path):
        return  # conmon opens the file before it starts the container; no file, no log
    files.hold_live(path)
    try:
        keeperd.write_entry(control, cid, path, plan, monitor_pid)
    except OSError as e:
        log.warning("log keeper entry for %s: %s", path, e)
    await ensure_keeper(control)
    if plan.driver == "syslog":
        await _start_forwarder(path, plan, monitor_pid, container)


async def _hand_over(control: str, cid: str, path: str, plan: LogPlan, monitor_pid: int) -> None:
    """The keeper takes the FIFO: the entry first (a keeper that starts later opens the FIFO
    by its name), then the descriptor coved holds, sent through the keeper's socket."""
    fifo = pump.fifo_path(path)
    fd = _held.pop(fifo, -1)
    try:
        keeperd.write_entry(control, cid, path, plan, monitor_pid, fifo=fifo)
    except OSError as e:
        log.warning("log keeper entry for %s: %s", path, e)
    try:
        for _ in range(250):  # a keeper just started binds its socket within a second or so
            await ensure_keeper(control)
            if fd < 0 or keeperd.hand_over(control, f"{cid}", fd):
                break
            await asyncio.sleep(0.02)
        else:
            log.warning("log keeper did not take %s", fifo)
    finally:
        if fd >= 0:
            os.close(fd)


async def restore(engine: object) -> None:
    """coved started again: the keeper goes on (its entries outlive coved); start it if it
    stopped meanwhile and some container still has an entry."""
    control = _control_dir(engine)
    if os.path.isdir(control):
        await ensure_keeper(control)


async def ensure_keeper(control: str) -> None:
    """Start the keeper process unless one holds the control directory's lock: detached
    (``setsid -f``), so it goes on while coved restarts, as conmon does."""
    if keeperd.running(control):
        return
    await _detached([sys.executable, "-m", "cove.logdriver.keeperd", "--control", control])


async def _detached(argv: list[str], fds: tuple[int, ...] = ()) -> None:
    try:
        proc = await asyncio.create_subprocess_exec(
            "setsid", "-f", *argv,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, pass_fds=fds,
        )  # fmt: skip
        await proc.wait()  # setsid forks and returns at once
    except OSError as e:
        log.warning("cannot start %s: %s", argv[2:4], e)


async def _start_forwarder(
    path: str, plan: LogPlan, monitor_pid: int, container: dict[str, Any]
) -> None:
    """The forwarder runs in its own session, no child of coved, so it goes on while coved
    restarts (as conmon does)."""
    # the open file goes along: a container run with --rm may be gone (with its log's
    # name) before the forwarder opens anything
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        log.warning("syslog forwarder for %s: %s", path, e)
        return
    argv = [
        sys.executable, "-m", "cove.logdriver.syslog",
        "--log", path, "--monitor-pid", str(monitor_pid), "--fd", str(fd),
        "--address", plan.syslog_address, "--facility", str(plan.syslog_facility),
        "--format", plan.syslog_format, "--tag", plan.tag,
        "--id", str(container.get("Id", "")), "--name", str(container.get("Name", "")),
        "--image", str((container.get("Config") or {}).get("Image", "")),
    ]  # fmt: skip
    try:
        await _detached(argv, (fd,))
    finally:
        os.close(fd)
