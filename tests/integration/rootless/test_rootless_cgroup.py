"""Rootless limits through cgroup v2 delegation (issue 18; runtime/rootless_cgroup.py).

Needs a pure cgroup2 host: ``make test-kernel`` runs this in its qemu guest (there is no
systemd there, so the test delegates a subtree itself as systemd's user@.service would:
a cgroup directory chowned to the user, with memory, pids and cpu enabled above it and
cpuset and io not).  On a cgroup v1 or hybrid host it skips.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator

import pytest

from cove.runtime.rootless_cgroup import unified
from tests.integration.rootless.conftest import (
    User,
    _kill_all,
    _make_user,
    _remove_user,
    import_busybox,
)

pytestmark = pytest.mark.integration

CG = "/sys/fs/cgroup"
PARENT = f"{CG}/covetest-rootless"  # root's: the controllers it hands down
DELEGATED = f"{PARENT}/user"  # the user's, as user@<uid>.service is
GIVEN = ("memory", "pids", "cpu")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _rmtree_cgroup(path: str) -> None:
    """Child cgroups first: a cgroup directory goes with rmdir only, once empty."""
    if not os.path.isdir(path):
        return
    for name in os.listdir(path):
        if os.path.isdir(os.path.join(path, name)):
            _rmtree_cgroup(os.path.join(path, name))
    with contextlib.suppress(OSError):
        os.rmdir(path)


@pytest.fixture(scope="module")
def carol(tun_for_users: None) -> Iterator[User]:
    if not unified(CG):
        pytest.skip("needs a pure cgroup v2 host (make test-kernel runs it in a qemu guest)")
    with open(f"{CG}/cgroup.controllers") as f:
        if not set(GIVEN) <= set(f.read().split()):
            pytest.skip(f"the host's cgroup2 lacks one of {GIVEN}")
    u = _make_user("covert3")
    try:
        _write(f"{CG}/cgroup.subtree_control", " ".join(f"+{c}" for c in GIVEN))
        os.makedirs(DELEGATED, exist_ok=True)
        _write(f"{PARENT}/cgroup.subtree_control", " ".join(f"+{c}" for c in GIVEN))
        for name in ("", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"):
            os.chown(os.path.join(DELEGATED, name), u.uid, u.gid)
        # root moves the launcher into the cgroup (the move needs write access at the
        # common ancestor, the root), which then becomes the user
        script = f"echo $$ > {DELEGATED}/cgroup.procs && exec setpriv --reuid={u.uid} " \
            f'--regid={u.gid} --clear-groups "$@"'  # fmt: skip
        u.start(launcher=("sh", "-c", script, "sh"))
        import_busybox(u)
        yield u
    finally:
        u.stop()
        _kill_all([u])
        _rmtree_cgroup(PARENT)
        _remove_user(u)


def test_the_daemon_moved_into_its_leaf(carol: User) -> None:
    with open(f"{DELEGATED}/daemon/cgroup.procs") as f:
        assert f.read().split(), "the daemon's processes are in <delegated>/daemon"
    with open(f"{DELEGATED}/cgroup.subtree_control") as f:
        assert set(f.read().split()) == set(GIVEN)
    info = json.loads(carol.ok("info", "--format", "{{json .}}"))
    assert info["CgroupDriver"] == "cgroupfs"
    assert info["MemoryLimit"] and info["PidsLimit"] and info["CpuCfsQuota"]
    assert not info["CPUSet"]
    assert not any("without cgroups" in w for w in info.get("Warnings") or [])


def test_limits_of_delegated_controllers_apply(carol: User) -> None:
    cid = carol.ok("run", "-d", "--memory", "64m", "--pids-limit", "40", "--cpus", "0.5",
                   "--cpu-shares", "512", "busybox", "sleep", "300").strip()  # fmt: skip
    try:
        cg = f"{DELEGATED}/cove-{cid}"
        with open(f"{cg}/memory.max") as f:
            assert f.read().strip() == str(64 * 1024 * 1024)
        with open(f"{cg}/pids.max") as f:
            assert f.read().strip() == "40"
        with open(f"{cg}/cpu.max") as f:
            assert f.read().split() == ["50000", "100000"]
        # the container's init is in its cgroup, and docker update reaches it
        with open(f"{cg}/cgroup.procs") as f:
            assert f.read().split()
        carol.ok("update", "--pids-limit", "60", cid)
        with open(f"{cg}/pids.max") as f:
            assert f.read().strip() == "60"
        carol.ok("stop", "-t", "1", cid)
    finally:
        carol.cove("rm", "-f", cid)
    assert not os.path.exists(f"{DELEGATED}/cove-{cid}")


def test_an_undelegated_controller_is_discarded_with_dockerds_warning(carol: User) -> None:
    r = carol.cove("run", "--rm", "--cpuset-cpus", "0", "busybox", "true")
    assert r.returncode == 0, r.stderr
    assert "Your kernel does not support cpuset or the cgroup is not mounted. " \
        "Cpuset discarded." in r.stderr  # fmt: skip


def test_stats_read_the_delegated_cgroup(carol: User) -> None:
    cid = carol.ok("run", "-d", "--memory", "64m", "busybox", "sleep", "300").strip()
    try:
        row = json.loads(carol.ok("stats", "--no-stream", "--format", "{{json .}}", cid))
        assert row["MemUsage"].endswith("/ 64MiB") and row["PIDs"] == "1", row
        body = carol.run("curl", "-s", "--unix-socket", carol.socket,
                         f"http://d/containers/{cid}/stats?stream=false").stdout  # fmt: skip
        stats = json.loads(body)
        assert stats["memory_stats"]["limit"] == 64 * 1024 * 1024
        assert stats["memory_stats"]["usage"] > 0 and stats["pids_stats"]["current"] == 1
        assert stats["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    finally:
        carol.cove("rm", "-f", cid)
