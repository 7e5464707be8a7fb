"""What a daemon killed half way through an operation leaves behind, found and cleared at
the next start (``Engine.restore``).

Every step of create, start, stop, exit and remove can be cut short by a ``kill -9``; what
each cut leaves, and who clears it:

* a container directory without a readable record (create cut before the record was
  written): dropped here with its writable layer, its bundle, any mount inside it and the
  volumes the create made for it (listed in ``.new-volumes`` as they are made);
* a writable layer or a bundle with no container record at all: dropped here;
* a record that is not running while the runtime or a monitor still holds the container
  (start cut between the runtime's create and the record's update; ``conmon.pid`` in the
  bundle tells): the runtime forgets it (force, which kills the process), a monitor still
  alive is killed, the root filesystem is unmounted; the container can be started again;
* a record marked ``Removing`` (remove cut half way): the removal is finished;
* a running record whose monitor is gone (exit or stop cut): the exit is recorded as for
  any container that exited while the daemon was down.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal

from cove.runtime import proc
from cove.snapshot import mount as mounter

log = logging.getLogger("cove.engine")

MONITOR_FILES = ("conmon.pid", "pidfile")
NEW_VOLUMES = ".new-volumes"  # in the container's directory, while its create runs


def note_new_volume(container_dir: str, name: str) -> None:
    """Remember a volume a create has just made, until its record is written."""
    with contextlib.suppress(OSError), open(os.path.join(container_dir, NEW_VOLUMES), "a") as f:
        f.write(name + "\n")


def new_volumes_done(container_dir: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(container_dir, NEW_VOLUMES))


def new_volumes(container_dir: str) -> list[str]:
    """The volumes an unfinished create made (see ``note_new_volume``)."""
    try:
        with open(os.path.join(container_dir, NEW_VOLUMES)) as f:
            return [ln.strip() for ln in f if ln.strip()]
    except OSError:
        return []


def stray_monitor(bundle: str, cid: str) -> int:
    """The pid of the monitor ``bundle/conmon.pid`` names if it still runs for ``cid``
    (its command line names the container: a recycled pid is not ours), else 0."""
    pid = proc.read_int_file(os.path.join(bundle, "conmon.pid")) or 0
    if pid <= 0:
        return 0
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return 0
    return pid if cid.encode() in argv and any(b"conmon" in a for a in argv[:1]) else 0


def in_runtime_leftover(bundle: str) -> bool:
    """Whether a monitor was started for this bundle and the runtime not told to forget it."""
    return os.path.exists(os.path.join(bundle, "conmon.pid"))


def kill_monitor(bundle: str, cid: str) -> None:
    pid = stray_monitor(bundle, cid)
    if pid:
        log.warning("killing the monitor (pid %d) of container %s left by a crash", pid, cid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for name in MONITOR_FILES:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(bundle, name))


def drop_directory(path: str) -> None:
    """Remove a container's directory, unmounting what is mounted inside it first (its root
    filesystem): deleting through a mount would delete the layer's files one by one."""
    for point in sorted(mounter.mounts_under(path), key=len, reverse=True):
        try:
            mounter.unmount(point)
        except Exception as e:
            log.warning("unmount %s: %s", point, e)
    if not mounter.mounts_under(path):
        shutil.rmtree(path, ignore_errors=True)
