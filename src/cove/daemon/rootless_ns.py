"""The rootless daemon's namespaces outlive the daemon: a holder process keeps them.

As rootless Podman's pause process does: the first ``coved --rootless`` makes the user,
mount and network namespaces and leaves in them a tiny process (``catatonit -P``, else
``sleep infinity``) whose pid goes to ``<exec-root>/ns.pid``.  Containers, their monitors
and their mounts live in those namespaces, so a daemon that stops leaves them running, and
the next ``coved --rootless`` joins the same namespaces (``setns``) instead of making new
ones, and picks its containers up again as the root daemon does.

The namespace's user-mode network lives exactly as long as the holder: slirp4netns's exit
fd (or pasta's watcher's stdin, network/pasta.py) is a pipe whose only writer is the
holder.  To end everything, kill the holder (its pid is in ns.pid): its namespaces go
with the last process in them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil

HOLDER_FILE = "ns.pid"
NET_FILE = "usermode-net.pid"
_NAMESPACES = ("user", "mnt", "net")  # joined in this order: the user namespace first


def _read_pid(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def _alive_as_us(pid: int) -> bool:
    try:
        return pid > 0 and os.stat(f"/proc/{pid}").st_uid == os.getuid()
    except OSError:
        return False


def live_holder(exec_root: str) -> int:
    """The holder's pid when one still keeps this user's namespaces (and their network
    runs), else 0.  A recycled pid is told apart by its user namespace: ours differs."""
    pid = _read_pid(os.path.join(exec_root, HOLDER_FILE))
    net = _read_pid(os.path.join(exec_root, NET_FILE))
    if not (_alive_as_us(pid) and _alive_as_us(net)):
        return 0
    try:
        theirs = os.stat(f"/proc/{pid}/ns/user").st_ino
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0")[0]
    except OSError:
        return 0
    if theirs == os.stat("/proc/self/ns/user").st_ino:
        return 0
    if os.path.basename(argv0) not in (b"catatonit", b"sleep"):
        return 0
    return pid


def net_pid(exec_root: str) -> int:
    """The user-mode network's pid, as recorded (0: none)."""
    return _read_pid(os.path.join(exec_root, NET_FILE))


def join(pid: int) -> None:
    """Enter the holder's namespaces and become their root.  Must run while this process
    has a single thread (the kernel refuses a user namespace change otherwise)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fds = [os.open(f"/proc/{pid}/ns/{ns}", os.O_RDONLY | os.O_CLOEXEC) for ns in _NAMESPACES]
    try:
        for ns, fd in zip(_NAMESPACES, fds, strict=True):
            if libc.setns(fd, 0) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns({ns}) into the rootless namespaces: {os.strerror(err)}")
    finally:
        for fd in fds:
            os.close(fd)
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    os.setgroups([])
    os.chdir("/")


def spawn_holder(keep_fd: int, exec_root: str) -> int:
    """Start the holder in the current namespaces, holding ``keep_fd`` (the user-mode
    network's exit pipe) for its whole life; records and returns its pid."""
    catatonit = shutil.which("catatonit")
    argv = [catatonit, "-P"] if catatonit else [shutil.which("sleep") or "/bin/sleep", "infinity"]
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the holder
        try:
            os.setsid()
            # the pipe rides on stdin: catatonit closes every descriptor above 2
            os.dup2(keep_fd, 0)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (1, 2):
                os.dup2(null, fd)
            os.execv(argv[0], argv)  # every other descriptor is close-on-exec
        finally:
            os._exit(127)
    record(exec_root, HOLDER_FILE, pid)
    return pid


def record(exec_root: str, name: str, pid: int) -> None:
    tmp = os.path.join(exec_root, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.replace(tmp, os.path.join(exec_root, name))


def forget(exec_root: str) -> None:
    for name in (HOLDER_FILE, NET_FILE):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(exec_root, name))
