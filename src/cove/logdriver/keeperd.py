"""The keeper's own process: ``python -m cove.logdriver.keeperd --control DIR``.

coved starts one per data root, detached in its own session like conmon, so json-file logs
are written and rotated files kept while coved is stopped or restarting, and the keeper's
threads never wait for the daemon's GIL (it reacts to conmon's renames within
microseconds).  It writes every json-file log (``pump.JsonPump``: conmon's records from a
FIFO, handed over by coved through ``keeper.sock``; a ``drain <id>`` request on the same
socket, with a socket to answer on, has it written before ``logs`` reads) and keeps the
rotations of conmon's k8s-files (``keeper.LogKeeper``).  coved tells it what to keep
through files in the control directory, one per container (``<id>.json``: ``{"path",
"max_file", "max_size", "compress", "monitor_pid", "fifo"}``, written aside and renamed
into place).  It ends when the control directory goes, or when it has had nothing to keep
for ``IDLE`` seconds (an entry goes when its container's monitor has exited and its log is
written; coved starts the keeper again with the next container); one instance per
directory (an flock on ``keeper.lock``).
"""

from __future__ import annotations

import argparse
import array
import contextlib
import fcntl
import json
import os
import select
import socket
import sys
import time
from collections.abc import Callable

from cove.logdriver.keeper import LogKeeper
from cove.logdriver.options import DEFAULT_MAX_SIZE, LogPlan
from cove.logdriver.pump import JsonPump

IDLE = 3.0  # seconds with nothing to keep before the process ends
LOCK = "keeper.lock"
SOCKET = "keeper.sock"


def write_entry(
    control: str, cid: str, path: str, plan: LogPlan, monitor_pid: int, fifo: str = ""
) -> None:
    """coved's side: ask the keeper to keep ``path`` while ``monitor_pid`` (the container's
    conmon) runs (crash-safe: written aside, then renamed).  With ``fifo``, the keeper
    writes ``path`` itself in Docker's json-file format from conmon's records in the FIFO."""
    os.makedirs(control, mode=0o700, exist_ok=True)
    body = {
        "path": path, "max_file": plan.max_file, "compress": plan.compress,
        "monitor_pid": monitor_pid, "max_size": plan.max_size, "fifo": fifo,
    }  # fmt: skip
    tmp = os.path.join(control, f".{cid}.tmp")
    with open(tmp, "w") as f:
        json.dump(body, f)
    os.replace(tmp, os.path.join(control, f"{cid}.json"))


def running(control: str) -> bool:
    """Whether a keeper holds the directory's lock."""
    try:
        fd = os.open(os.path.join(control, LOCK), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


# log path, plan, monitor pid, the entry's inode, the FIFO of a json-file log ("" for none)
Entry = tuple[str, LogPlan, int, int, str]


def _entries(control: str) -> dict[str, Entry]:
    """Entries by file name (the entry's inode changes when a container that starts again
    writes its entry anew: the keeper then looks at its files again)."""
    out: dict[str, Entry] = {}
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(control):
            if not name.endswith(".json"):
                continue
            full = os.path.join(control, name)
            try:
                with open(full) as f:
                    body = json.load(f)
                    ino = os.fstat(f.fileno()).st_ino
                path = str(body["path"])
                plan = LogPlan(
                    "json-file", max_file=int(body["max_file"]), compress=bool(body["compress"]),
                    max_size=int(body.get("max_size") or DEFAULT_MAX_SIZE),
                )  # fmt: skip
                monitor = int(body["monitor_pid"])
                fifo = str(body.get("fifo") or "")
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if not os.path.isdir(os.path.dirname(path)):  # the container was removed
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(full)
                continue
            out[name] = (path, plan, monitor, ino, fifo)
    return out


def _listen(control: str) -> socket.socket:
    """The socket coved hands FIFOs over through (a datagram with the entry's name and the
    FIFO's descriptor: in flight, it holds the FIFO open for the keeper)."""
    path = os.path.join(control, SOCKET)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    sock.bind(path)
    sock.setblocking(False)
    return sock


def hand_over(control: str, name: str, fd: int) -> bool:
    """coved's side: give the keeper the FIFO of entry ``name`` (False: no keeper listens,
    or its queue is full: never waits, coved calls this on its event loop)."""
    sock = socket.socket(
        socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
    )
    try:
        sock.sendmsg(
            [name.encode()],
            [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]).tobytes())],
            0,
            os.path.join(control, SOCKET),
        )
        return True
    except OSError:
        return False
    finally:
        sock.close()


DRAIN = "drain "  # a request's prefix: "drain <id>" and the answer's socket


def drain(control: str, cid: str) -> socket.socket | None:
    """coved's side of read-your-writes: ask the keeper to write what container ``cid``'s
    FIFO holds now.  Returns the socket the answer comes on (a byte, or end of file when the
    keeper dropped the request or died: both mean "read the file now"), or None when no
    keeper takes requests.  Never waits (the caller waits on the socket with a timeout)."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        if not hand_over(control, DRAIN + cid, theirs.fileno()):
            mine.close()
            return None
    finally:
        theirs.close()  # in flight, the datagram holds it for the keeper
    mine.setblocking(False)
    return mine


def _answer(fd: int) -> Callable[[], None]:
    def answer() -> None:
        with contextlib.suppress(OSError):
            os.write(fd, b"1")
        os.close(fd)

    return answer


def _received(sock: socket.socket) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """What came through the socket: FIFOs handed over and drain requests (name, fd)."""
    handed: list[tuple[str, int]] = []
    asked: list[tuple[str, int]] = []
    while True:
        try:
            msg, anc, _flags, _addr = sock.recvmsg(256, socket.CMSG_SPACE(4 * 4))
        except (BlockingIOError, InterruptedError):
            return handed, asked
        fds: list[int] = []
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(array.array("i", data[: len(data) - len(data) % 4]))
        for extra in fds[1:]:
            os.close(extra)
        if fds:
            text = msg.decode(errors="replace")
            if text.startswith(DRAIN):
                asked.append((text.removeprefix(DRAIN), fds[0]))
            else:
                handed.append((text, fds[0]))


def _pump_entry(pump: JsonPump, name: str, entry: Entry, fd: int | None = None) -> None:
    path, plan, monitor, _ino, fifo = entry
    pump.watch(name, path, fifo, plan.max_size, plan.max_file, plan.compress, monitor, fd=fd)


def serve(control: str) -> int:
    os.makedirs(control, mode=0o700, exist_ok=True)
    lock = os.open(os.path.join(control, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another keeper has it
    sock = _listen(control)
    keeper = LogKeeper()

    def ended(name: str, monitor: int) -> None:
        """(the pump's thread) Drained: the entry goes at once, unless coved wrote it anew
        for the container's next run meanwhile."""
        full = os.path.join(control, name)
        with contextlib.suppress(OSError, ValueError), open(full) as f:
            if int(json.load(f).get("monitor_pid", 0)) != monitor:
                return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(full)

    pump = JsonPump(ended)
    seen: dict[str, Entry] = {}
    idle_since = time.monotonic()
    stamp, now_stamp, full_pass = -1, 0, 0.0
    try:
        while os.path.isdir(control):
            # the entries are read again when one was added (the directory's time moves)
            # and every few seconds (to drop those of removed containers)
            with contextlib.suppress(FileNotFoundError):
                now_stamp = os.stat(control).st_mtime_ns
            handed, asked = _received(sock)
            if handed or now_stamp != stamp or time.monotonic() - full_pass > 10:
                stamp, full_pass = now_stamp, time.monotonic()
                current = _entries(control)
                given = dict(handed)
                for name, entry in current.items():
                    key = name.removesuffix(".json")
                    if entry[4]:  # json-file: the pump writes it (a FIFO handed over first)
                        if seen.get(name) != entry or key in given:
                            _pump_entry(pump, name, entry, given.pop(key, None))
                    elif seen.get(name) != entry:
                        keeper.watch(entry[0], entry[1])
                for fd in given.values():  # handed over without an entry: not ours
                    os.close(fd)
                seen = current
            for key, fd in asked:  # after the FIFOs handed over with them were taken
                pump.drain(key + ".json", _answer(fd))
            for name in pump.finished():  # drained after its monitor exited
                seen.pop(name, None)
            for name, (path, plan, monitor, _ino, fifo) in list(seen.items()):
                if not fifo and not os.path.exists(f"/proc/{monitor}"):
                    # the monitor is gone: its last rotations are kept, then the entry goes
                    keeper.watch(path, plan)
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(control, name))
                    del seen[name]
            if seen or pump.watching():
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > IDLE and not _entries(control):
                break  # (an entry written just now keeps it: coved may be handing a FIFO)
            # new entries are picked up within this; a FIFO handed over wakes it at once
            select.select([sock], [], [], 0.5)
    finally:
        pump.close()
        keeper.close()
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(control, SOCKET))
        os.close(lock)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cove-log-keeper", description=__doc__)
    p.add_argument("--control", required=True, help="the control directory")
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        return serve(args.control)
    return 0


if __name__ == "__main__":
    sys.exit(main())
