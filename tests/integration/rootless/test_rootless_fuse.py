"""A rootless daemon on the fuse-overlayfs driver (issue 18, storage's second tier), forced
with daemon.json's ``storage-driver``, as a regular user: containers, exec, build, commit,
save/load, cp and owners all go through FUSE mounts, and no mount or fuse-overlayfs
process outlives its use (rm, stop, a daemon killed while a container exits)."""

from __future__ import annotations

import json
import os
import signal
import tarfile
import time
from collections.abc import Iterator

import pytest

from tests.integration.rootless.conftest import (
    User,
    fuse_mounts,
    fuse_servers,
    fuse_settled,
    usable_by_users,
    user_with_config,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fay(tun_for_users: None) -> Iterator[User]:
    with usable_by_users("/dev/fuse", "fuse-overlayfs needs the FUSE device"):
        config = {"storage-driver": "fuse-overlayfs"}
        with user_with_config("covertf", config, ("fuse-overlayfs", "slirp4netns")) as u:
            yield u


def test_driver_is_fuse_overlayfs(fay: User) -> None:
    info = json.loads(fay.ok("info", "--format", "{{json .}}"))
    assert info["Driver"] == "fuse-overlayfs"
    assert os.path.isdir(os.path.join(fay.home, ".local/share/cove/fuse-overlayfs"))
    fs = fay.ok("run", "--rm", "busybox", "sh", "-c", "grep ' / ' /proc/mounts")
    assert fs.split()[2] == "fuse.fuse-overlayfs", fs
    assert fuse_settled(fay) == ([], [])


def test_run_exec_owners_and_rm_leave_nothing(fay: User) -> None:
    fay.ok("run", "-d", "--name", "f1", "busybox", "sleep", "300")
    try:
        assert len(fuse_servers(fay)) == 1 and len(fuse_mounts(fay)) == 1
        assert fay.ok("exec", "f1", "stat", "-c", "%u:%g", "/bin/busybox").strip() == "0:0"
        change = "rm /bin/ls && mkdir -p /d && touch /d/x && chown 1234:55 /d/x"
        fay.ok("exec", "f1", "sh", "-c", change)
        assert fay.ok("exec", "f1", "stat", "-c", "%u:%g", "/d/x").strip() == "1234:55"
        diff = fay.ok("diff", "f1").split("\n")
        assert "D /bin/ls" in diff and "A /d/x" in diff, diff
        inspect = json.loads(fay.ok("inspect", "f1"))[0]
        assert inspect["GraphDriver"]["Name"] == "fuse-overlayfs"
        upper = inspect["GraphDriver"]["Data"]["UpperDir"]
        assert upper.startswith(os.path.join(fay.home, ".local/share/cove/fuse-overlayfs/"))
        # on the host: the user's subordinate id 1234, never a real user's
        assert os.stat(os.path.join(upper, "d/x")).st_uid == fay.sub_start + 1233
        fay.ok("stop", "-t", "0", "f1")
        assert fuse_settled(fay) == ([], [])  # a stopped container's rootfs is unmounted
        fay.ok("start", "f1")
        assert fay.ok("exec", "f1", "stat", "-c", "%u", "/d/x").strip() == "1234"
    finally:
        fay.cove("rm", "-f", "f1")
    assert fuse_settled(fay) == ([], [])


def test_build_commit_save_load_cp(fay: User) -> None:
    ctx = os.path.join(fay.home, "ctx")
    fay.run("mkdir", "-p", ctx)
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write("FROM busybox\nRUN mkdir /w /o && echo built > /w/f && chown 1234:5678 /w/f"
                " && touch /o/old\nRUN rm -rf /o && mkdir /o && touch /o/only\n")  # fmt: skip
    fay.ok("build", "-q", "-t", "fbuilt", ctx)
    out = fay.ok("run", "--rm", "fbuilt", "sh", "-c", "stat -c %u:%g /w/f; cat /w/f; ls /o")
    assert out.split("\n")[:3] == ["1234:5678", "built", "only"]  # /o replaced: opaque
    fay.ok("run", "--name", "fc", "fbuilt", "sh", "-c", "rm -rf /w && mkdir /w && touch /w/g")
    fay.ok("commit", "fc", "fcommitted")
    fay.ok("rm", "fc")
    assert fay.ok("run", "--rm", "fcommitted", "ls", "/w").split() == ["g"]
    tar = os.path.join(fay.home, "f.tar")
    fay.ok("save", "-o", tar, "fcommitted")
    fay.ok("rmi", "fcommitted")
    assert "Loaded image: fcommitted:latest" in fay.ok("load", "-i", tar)
    assert fay.ok("run", "--rm", "fcommitted", "ls", "/w").split() == ["g"]
    fay.ok("create", "--name", "fcp", "fbuilt", "cat", "/w/in")  # cp while it is not running
    try:
        fay.ok("cp", "fcp:/w/f", os.path.join(fay.home, "copied"))
        with open(os.path.join(fay.home, "copied")) as f:
            assert f.read() == "built\n"
        fay.run("sh", "-c", f"echo in > {fay.home}/to-copy")
        fay.ok("cp", os.path.join(fay.home, "to-copy"), "fcp:/w/in")
        assert fay.ok("start", "-a", "fcp") == "in\n"
        out = os.path.join(fay.home, "fcp.tar")
        fay.ok("export", "-o", out, "fcp")  # a stopped container: mounted for the export
        with tarfile.open(out) as tf:
            names = tf.getnames()
        assert "w/f" in names and "o/only" in names and "o/old" not in names
        assert not [n for n in names if os.path.basename(n).startswith(".wh.")]
    finally:
        fay.cove("rm", "-f", "fcp")
    assert fuse_settled(fay) == ([], [])


def _daemon_child(u: User) -> int:
    """The daemon half of ``coved --rootless`` (its parent only relays signals)."""
    assert u.daemon is not None
    with open(f"/proc/{u.daemon.pid}/task/{u.daemon.pid}/children") as f:
        return int(f.read().split()[0])


def test_killed_daemon_mounts_cleaned_at_restart(fay: User) -> None:
    fay.ok("run", "-d", "--name", "stays", "busybox", "sleep", "300")
    fay.ok("run", "-d", "--name", "ends", "busybox", "sleep", "300")
    try:
        ends = json.loads(fay.ok("inspect", "ends"))[0]["State"]["Pid"]
        assert len(fuse_mounts(fay)) == 2
        os.kill(_daemon_child(fay), signal.SIGKILL)
        assert fay.daemon is not None
        fay.daemon.wait(30)
        os.kill(ends, signal.SIGKILL)  # the container ends while no daemon runs
        time.sleep(0.5)
        assert len(fuse_mounts(fay)) == 2  # nobody unmounted it yet
        fay.start()
        servers, mounts = fuse_settled(fay, servers=1, mounts=1)
        assert len(servers) == 1 and len(mounts) == 1, (servers, mounts)
        assert fay.ok("exec", "stays", "echo", "alive").strip() == "alive"
    finally:
        fay.cove("rm", "-f", "stays", "ends")
    assert fuse_settled(fay) == ([], [])
