"""What the benchmark reads from /proc and how it tears down what it started.

Everything the bench creates lives under one temp directory per engine, so cleanup is
path-based: a process belongs to us when its command line names that directory (daemons,
containerd, shims, conmon, the podman cleanup helpers), together with all its descendants
(the containers themselves, whose command lines name nothing of ours). Mounts belong to us
when their mount point is under the directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import time


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    return int(stat.rsplit(")", 1)[1].split()[1])


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def names(args: list[str], path: str) -> bool:
    """Does a command line mention `path` itself or something under it?"""
    sub = path.rstrip("/") + "/"
    return any(sub in a or a.endswith(path) for a in args)


def pids_naming(path: str) -> list[int]:
    """Processes whose command line mentions `path` (never this process)."""
    me = os.getpid()
    return [p for p in all_pids() if p != me and names(cmdline(p), path)]


def pids_named(path: str, argv0: str) -> list[int]:
    """Processes naming `path` whose program is called `argv0` (basename)."""
    out = []
    for p in pids_naming(path):
        args = cmdline(p)
        if args and os.path.basename(args[0]) == argv0:
            out.append(p)
    return out


def descendants(roots: list[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for p in all_pids():
        pp = ppid(p)
        if pp is not None:
            children.setdefault(pp, []).append(p)
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(children.get(p, []))
    return seen


def _status_kb(pid: int, field: str, fname: str) -> int | None:
    try:
        with open(f"/proc/{pid}/{fname}") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_kb(pid: int) -> int | None:
    return _status_kb(pid, "VmRSS", "status")


def pss_kb(pid: int) -> int | None:
    return _status_kb(pid, "Pss", "smaps_rollup")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie counts as gone: it holds nothing but a table slot.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if alive(p)]
    return left


def kill_tree_naming(path: str) -> list[str]:
    """SIGKILL every process naming `path` and all their descendants; say what was killed.

    The whole set is collected before the first signal: a container whose monitor dies first
    is reparented to init and could no longer be found by ancestry.
    """
    killed: list[str] = []
    me = os.getpid()
    for _ in range(5):
        victims = descendants(pids_naming(path)) - {me, os.getppid()}
        if not victims:
            break
        for p in sorted(victims):
            desc = f"{p} {comm(p)}"
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
                killed.append(desc)
        wait_gone(sorted(victims), 5)
    return killed


def cgroups_of(pids: set[int]) -> set[str]:
    """Leaf cgroup directories of `pids` (v1 and v2), for removal once they are empty."""
    out: set[str] = set()
    for p in pids:
        try:
            with open(f"/proc/{p}/cgroup") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for ln in lines:
            hid, ctrls, rel = ln.split(":", 2)
            if rel in ("", "/"):
                continue
            if hid == "0":
                base = "/sys/fs/cgroup/unified"
            else:
                name = ctrls.split(",")[0].replace("name=", "")
                base = f"/sys/fs/cgroup/{name}"
            out.add(base + rel)
    return out


CGROUP_ROOT = "/sys/fs/cgroup"
# The parents under which the three engines put their containers (cgroupfs driver).
CGROUP_PARENTS = ("docker", "libpod_parent/conmon", "libpod_parent", "cove")


def cgroup_parents() -> set[str]:
    """Which engine parent cgroups exist now, in every hierarchy."""
    out = set()
    try:
        hier = [os.path.join(CGROUP_ROOT, h) for h in os.listdir(CGROUP_ROOT)]
    except OSError:
        return out
    for h in hier:
        for p in CGROUP_PARENTS:
            d = os.path.join(h, p)
            if os.path.isdir(d):
                out.add(d)
    return out


def remove_new_cgroup_parents(before: set[str]) -> list[str]:
    """rmdir the parents that appeared during the run, when empty (rmdir refuses otherwise)."""
    removed = []
    for d in sorted(cgroup_parents() - before, key=len, reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(d)
            removed.append(d)
    return removed


def shim_sockets(pids: set[int]) -> list[str]:
    """containerd-shim sockets of `pids`: /run/containerd/s/sha256(<address>/<ns>/<id>)."""
    out = []
    for p in pids:
        args = cmdline(p)
        if not args or not os.path.basename(args[0]).startswith("containerd-shim"):
            continue
        opts = dict(zip(args[1::2], args[2::2], strict=False))
        if {"-namespace", "-id", "-address"} <= opts.keys():
            key = os.path.join(opts["-address"], opts["-namespace"], opts["-id"])
            out.append("/run/containerd/s/" + hashlib.sha256(key.encode()).hexdigest())
    return out


def mounts_under(path: str) -> list[str]:
    prefix = path.rstrip("/") + "/"
    with open("/proc/self/mountinfo") as f:
        points = [ln.split()[4] for ln in f]
    points = [p.encode().decode("unicode_escape") for p in points]
    return sorted({p for p in points if p == path or p.startswith(prefix)}, key=len, reverse=True)


def unmount_under(path: str) -> list[str]:
    done = []
    for _ in range(3):
        points = mounts_under(path)
        if not points:
            break
        for p in points:
            subprocess.run(["umount", "-l", p], capture_output=True, timeout=30)
            done.append(p)
    return done


def remove_tree(path: str) -> str | None:
    r = subprocess.run(
        ["rm", "-rf", "--one-file-system", path], capture_output=True, text=True, timeout=120
    )
    if os.path.exists(path):
        return f"could not remove {path}: {r.stderr.strip()[:300]}"
    return None


def host_links() -> set[str]:
    r = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, timeout=10)
    return {ln.split(":")[1].strip().split("@")[0] for ln in r.stdout.splitlines() if ":" in ln}


def nft_tables() -> set[str]:
    try:
        r = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {ln.strip() for ln in r.stdout.splitlines() if ln.strip()}


def iptables_chains() -> set[str]:
    out: set[str] = set()
    for table in ("filter", "nat"):
        try:
            r = subprocess.run(
                ["iptables", "-t", table, "-S"], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        out |= {f"{table}: {ln}" for ln in r.stdout.splitlines()}
    return out
