"""The fuse-overlayfs snapshotter with real FUSE mounts (root here; the rootless suite runs
it as a regular user): whiteouts and opaque layers read through it, a container's changes
and their layer tar, unmount ending the server, the driver check's words."""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cove.archive import tar_changes
from cove.errors import SystemError_
from cove.snapshot import mount as mounter
from cove.snapshot.diff import ADDED, DELETED, MODIFIED, Change
from cove.snapshot.fuse import FuseOverlaySnapshotter
from cove.snapshot.select import check_fuse_overlay_supported, choose_snapshotter
from tests.unit.archive.tarhelp import build, directory, file, opaque, whiteout

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(shutil.which("fuse-overlayfs") is None, reason="needs fuse-overlayfs"),
]
K1, K2, CID = "1" * 64, "2" * 64, "c" * 64
L1 = build(directory("etc"), file("etc/a", b"a"), file("etc/b", b"bb"), directory("opt"),
           file("opt/old", b"o"), directory("var"), file("var/v", b"v"))  # fmt: skip
L2 = build(whiteout("etc/a"), opaque("opt"), file("opt/new", b"n"))


def fuse_servers(below: str) -> list[int]:
    """fuse-overlayfs processes whose command line names a path below ``below``."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if os.path.basename(argv[0]) == b"fuse-overlayfs" and below.encode() in b" ".join(argv):
            out.append(int(pid))
    return out


def wait_gone(below: str) -> list[int]:
    deadline = time.monotonic() + 10
    while (left := fuse_servers(below)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.fixture(autouse=True)
def no_server_left(root: Path) -> Iterator[None]:
    yield
    assert wait_gone(str(root)) == []


def test_layers_changes_and_unmount(root: Path) -> None:
    snap = choose_snapshotter("fuse-overlayfs", str(root))
    assert isinstance(snap, FuseOverlaySnapshotter) and snap.name == "fuse-overlayfs"
    assert os.path.isdir(root / "fuse-overlayfs")  # its own directory, as dockerd keeps it
    snap.apply_layer(K1, None, io.BytesIO(L1))
    snap.apply_layer(K2, K1, io.BytesIO(L2))
    mounts = snap.prepare(CID, K2)
    assert [m.type for m in mounts] == ["fuse3.fuse-overlayfs"]
    target = snap.mount_point(CID)
    mounter.mount_all(mounts, target)
    try:
        assert fuse_servers(str(root))
        t = Path(target)
        assert sorted(os.listdir(t / "etc")) == ["b"]  # the layer's whiteout
        assert os.listdir(t / "opt") == ["new"]  # the opaque directory
        (t / "etc/b").write_bytes(b"changed")
        (t / "etc/c").write_bytes(b"c")
        shutil.rmtree(t / "var")
        os.mkdir(t / "var")  # replaced: opaque in the upper directory
        (t / "var/w").write_bytes(b"w")
        os.unlink(t / "opt/new")
        # fuse-overlayfs's own marks never show through the mount
        assert sorted(os.listdir(t / "var")) == ["w"]
    finally:
        mounter.unmount(target)
    assert wait_gone(str(root)) == []  # the server ends with its mount
    changes = snap.changes(CID)
    assert changes == [
        Change("etc", MODIFIED), Change("etc/b", MODIFIED), Change("etc/c", ADDED),
        Change("opt", MODIFIED), Change("opt/new", DELETED), Change("var", MODIFIED),
        Change("var/w", ADDED),
    ]  # fmt: skip
    entries = [(c.path, c.kind == DELETED) for c in changes]
    data = b"".join(tar_changes(snap.upper_dir(CID), entries))
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        names = tf.getnames()
    assert "var/.wh..wh..opq" in names and "opt/.wh.new" in names
    snap.remove(CID)


def test_upper_marks_without_mknod(root: Path) -> None:
    """Where mknod is refused, fuse-overlayfs writes ``.wh.<name>`` files: deletions."""
    snap = FuseOverlaySnapshotter(str(root))
    snap.apply_layer(K1, None, io.BytesIO(L1))
    snap.prepare(CID, K1)
    upper = Path(snap.upper_dir(CID))
    (upper / "etc").mkdir()
    (upper / "etc/.wh.a").write_bytes(b"")
    (upper / "var").mkdir()
    (upper / "var/.wh..wh..opq").write_bytes(b"")
    os.setxattr(upper / "var", "user.fuseoverlayfs.opaque", b"y")
    assert snap.changes(CID) == [Change("etc", MODIFIED), Change("etc/a", DELETED),
                                 Change("var", MODIFIED)]  # fmt: skip
    assert stat.S_ISDIR(os.lstat(upper / "var").st_mode)


def test_forced_driver_that_cannot_work(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for where in ("cove.snapshot.mount", "cove.snapshot.select"):
        monkeypatch.setattr(f"{where}.fuse_overlay_binary", lambda: None)
    reason = check_fuse_overlay_supported(str(root))
    assert reason is not None and "apt-get install fuse-overlayfs" in reason
    with pytest.raises(SystemError_, match="storage-driver 'fuse-overlayfs' cannot be used"):
        choose_snapshotter("fuse-overlayfs", str(root))
