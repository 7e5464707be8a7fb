"""Where a container's cgroup files are, on either layout the runtime may find: v1
hierarchies (this CI machine) or a unified cgroup2 (Debian 12's default; `make
test-kernel`'s guest).  Tests name the file for each layout."""

from __future__ import annotations

import os

ROOT = "/sys/fs/cgroup"
UNIFIED = os.path.exists(os.path.join(ROOT, "cgroup.controllers"))


def read(cid: str, v1: str, v2: str) -> str:
    """``v1`` as "controller/file", ``v2`` as "file"."""
    if UNIFIED:
        path = os.path.join(ROOT, "cove", cid, v2)
    else:
        controller, name = v1.split("/", 1)
        path = os.path.join(ROOT, controller, "cove", cid, name)
    with open(path) as f:
        return f.read().strip()
