"""The keeper's own process: ``python -m cove.logdriver.keeperd --control DIR``.

coved starts one per exec root, detached in its own session like conmon, so rotated files
are kept while coved is stopped or restarting, and the keeper's threads never wait for
the daemon's GIL (it reacts to conmon's renames within microseconds).  coved tells it what
to keep through files in the control directory, one per container (``<id>.json``:
``{"path", "max_file", "compress"}``, written aside and renamed into place).  It ends when
the control directory goes, or when it has had nothing to keep for ``IDLE`` seconds (an
entry goes when its container's monitor has exited; coved starts the keeper again with the
next container); one instance per directory (an flock on
``keeper.lock``).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import select
import sys
import time

from cove.logdriver.keeper import LogKeeper
from cove.logdriver.options import LogPlan

IDLE = 3.0  # seconds with nothing to keep before the process ends
LOCK = "keeper.lock"


def write_entry(control: str, cid: str, path: str, plan: LogPlan, monitor_pid: int) -> None:
    """coved's side: ask the keeper to keep ``path`` while ``monitor_pid`` (the container's
    conmon) runs (crash-safe: written aside, then renamed)."""
    os.makedirs(control, mode=0o700, exist_ok=True)
    body = {
        "path": path, "max_file": plan.max_file, "compress": plan.compress,
        "monitor_pid": monitor_pid,
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


Entry = tuple[str, LogPlan, int, int]  # log path, plan, monitor pid, the entry's inode


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
                    "json-file", max_file=int(body["max_file"]), compress=bool(body["compress"])
                )
                monitor = int(body["monitor_pid"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if not os.path.isdir(os.path.dirname(path)):  # the container was removed
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(full)
                continue
            out[name] = (path, plan, monitor, ino)
    return out


def serve(control: str) -> int:
    os.makedirs(control, mode=0o700, exist_ok=True)
    lock = os.open(os.path.join(control, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another keeper has it
    keeper = LogKeeper()
    seen: dict[str, Entry] = {}
    idle_since = time.monotonic()
    stamp, now_stamp, full_pass = -1, 0, 0.0
    try:
        while os.path.isdir(control):
            # the entries are read again when one was added (the directory's time moves)
            # and every few seconds (to drop those of removed containers)
            with contextlib.suppress(FileNotFoundError):
                now_stamp = os.stat(control).st_mtime_ns
            if now_stamp != stamp or time.monotonic() - full_pass > 10:
                stamp, full_pass = now_stamp, time.monotonic()
                current = _entries(control)
                for name, entry in current.items():
                    if seen.get(name) != entry:
                        keeper.watch(entry[0], entry[1])
                seen = current
            for name, (path, plan, monitor, _ino) in list(seen.items()):
                if not os.path.exists(f"/proc/{monitor}"):
                    # the monitor is gone: its last rotations are kept, then the entry goes
                    keeper.watch(path, plan)
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(control, name))
                    del seen[name]
            if seen:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > IDLE:
                break
            # new entries are picked up within this; until then coved's own .keep link
            # and laid-out next file hold the first two rotations
            select.select([], [], [], 0.5)
    finally:
        keeper.close()
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
