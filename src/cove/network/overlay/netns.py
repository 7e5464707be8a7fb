"""Edge module: a network namespace of the overlay's own, pinned by a bind mount on a file.

Each overlay network keeps its bridge and VXLAN device in such a namespace (Docker's overlay
does the same).  Frames switched there never meet the host's netfilter hooks: with the
``net.bridge.bridge-nf-call-iptables`` sysctl on (br_netfilter ORs it with the bridge's own
setting), every frame on a host-namespace bridge would go through the host's IP hooks, cost a
fake route lookup and a chain walk, and be dropped by a host firewall whose forward policy
is drop (dockerd installs one).  The namespace lives while the file is mounted; unmounting
it removes the bridge, the VXLAN device and the containers' host-side veths at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading

from cove.errors import SystemError_
from cove.network.nsutil import CLONE_NEWNET
from cove.snapshot.base import Mount
from cove.snapshot.mount import mount_all, unmount

_BRIDGE_NF = ("bridge-nf-call-iptables", "bridge-nf-call-ip6tables", "bridge-nf-call-arptables")


def pinned(path: str) -> bool:
    return os.path.ismount(path)


def create(path: str) -> None:
    """A new, empty network namespace pinned at ``path`` (kept when already there)."""
    if pinned(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a"):
        pass
    error: list[BaseException] = []

    def run() -> None:
        # a thread of its own: unshare moves only the calling thread, which then exits
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.unshare(CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"unshare: {os.strerror(err)}")
            src = f"/proc/self/task/{threading.get_native_id()}/ns/net"
            mount_all([Mount("bind", src, ("bind",))], path)
            # nothing in here filters: keep bridged frames away from (empty) IP hooks too
            for name in _BRIDGE_NF:
                with contextlib.suppress(OSError), open(f"/proc/sys/net/bridge/{name}", "w") as f:
                    f.write("0")
        except BaseException as e:
            error.append(e)

    t = threading.Thread(target=run, name="cove-ovl-netns")
    t.start()
    t.join()
    if error:
        remove(path)
        raise SystemError_(f"failed to create the overlay namespace {path}: {error[0]}")


def remove(path: str) -> None:
    """Unpin (the namespace and every device in it go) and delete the file; idempotent."""
    with contextlib.suppress(Exception):
        unmount(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
