"""Edge helper: run a function with the calling thread inside another network namespace.

Linux keeps the network namespace per thread, so a short-lived thread can ``setns`` into a
container's namespace, create sockets there (netlink, the DNS listener) and exit; the
sockets stay bound to that namespace while the daemon's threads never leave their own.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
_libc: ctypes.CDLL | None = None


def _setns(fd: int) -> None:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def in_netns(path: str, fn: Callable[[], T]) -> T:
    """``fn()`` run in the namespace at ``path`` (e.g. /proc/<pid>/ns/net)."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            error.append(e)
            return
        try:
            _setns(target)
            result.append(fn())
        except BaseException as e:  # handed to the caller's thread
            error.append(e)
        finally:
            os.close(target)
            # the thread ends here; its namespace goes with it

    t = threading.Thread(target=run, name="cove-netns")
    t.start()
    t.join()
    if error:
        raise error[0]
    return result[0]
