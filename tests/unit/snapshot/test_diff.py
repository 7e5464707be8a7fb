"""A container's diff on both snapshotters: the change list and the layer tar of commit."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from cove.archive import tar_changes
from cove.snapshot.diff import ADDED, DELETED, MODIFIED, Change, prune_runtime_entries
from cove.snapshot.native import NativeSnapshotter
from cove.snapshot.overlay import OverlaySnapshotter
from cove.snapshot.select import new_snapshotter
from tests.unit.archive.tarhelp import build, directory, file

K1 = "1" * 64
CID = "c" * 64
BASE = build(
    directory("etc"), file("etc/a", b"a"), file("etc/b", b"bb"), directory("opt"),
    directory("opt/x"), file("opt/x/y", b"y"), file("keep", b"k"), directory("var"),
)  # fmt: skip

Snap = OverlaySnapshotter | NativeSnapshotter


@pytest.fixture(params=["overlay2", "native"])
def snap(request: pytest.FixtureRequest, tmp_path: Path) -> Snap:
    if os.geteuid() != 0:
        pytest.skip("whiteouts and owners need root")
    s = new_snapshotter(request.param, str(tmp_path))
    assert isinstance(s, OverlaySnapshotter | NativeSnapshotter)
    s.apply_layer(K1, None, io.BytesIO(BASE))
    s.prepare(CID, K1)
    return s


def _delete(s: Snap, rel: str) -> None:
    """What a container's ``rm -r`` leaves in the writable layer."""
    p = os.path.join(s.upper_dir(CID), rel)
    if isinstance(s, OverlaySnapshotter):
        os.makedirs(os.path.dirname(p), exist_ok=True)
        os.mknod(p, stat.S_IFCHR | 0o600, 0)
    elif os.path.isdir(p):
        import shutil

        shutil.rmtree(p)
    else:
        os.unlink(p)


def _write(s: Snap, rel: str, data: bytes) -> None:
    p = os.path.join(s.upper_dir(CID), rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)


def test_changes_and_layer(snap: Snap) -> None:
    _write(snap, "etc/b", b"changed")
    _delete(snap, "etc/a")
    _delete(snap, "opt/x")
    _write(snap, "new/dir/f", b"n")
    changes = snap.changes(CID)
    assert changes == [
        Change("etc", MODIFIED), Change("etc/a", DELETED), Change("etc/b", MODIFIED),
        Change("new", ADDED), Change("new/dir", ADDED), Change("new/dir/f", ADDED),
        Change("opt", MODIFIED), Change("opt/x", DELETED),
    ]  # fmt: skip
    entries = [(c.path, c.kind == DELETED) for c in changes]
    data = b"".join(tar_changes(snap.upper_dir(CID), entries))
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        names = tf.getnames()
        assert tf.extractfile("etc/b").read() == b"changed"  # type: ignore[union-attr]
    assert names == ["etc", "etc/.wh.a", "etc/b", "new", "new/dir", "new/dir/f", "opt",
                     "opt/.wh.x"]  # fmt: skip


def test_no_changes(snap: Snap) -> None:
    assert snap.changes(CID) == []


def test_runtime_mount_points_are_not_changes(snap: Snap) -> None:
    _write(snap, "etc/hosts", b"")
    _write(snap, "etc/resolv.conf", b"")
    os.makedirs(os.path.join(snap.upper_dir(CID), "proc"))
    os.makedirs(os.path.join(snap.upper_dir(CID), "data/vol"))
    raw = snap.changes(CID)
    assert Change("etc/hosts", ADDED) in raw
    kept = prune_runtime_entries(raw, snap.upper_dir(CID), ["/data/vol"])
    assert kept == [Change("data", ADDED)]
    _write(snap, "etc/new", b"x")
    kept = prune_runtime_entries(snap.changes(CID), snap.upper_dir(CID), ["/data/vol"])
    assert Change("etc", MODIFIED) in kept and Change("etc/new", ADDED) in kept
    assert Change("etc/hosts", ADDED) not in kept


def test_opaque_directory_in_overlay(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("trusted.* xattrs need root")
    s = OverlaySnapshotter(str(tmp_path))
    s.apply_layer(K1, None, io.BytesIO(BASE))
    s.prepare(CID, K1)
    d = os.path.join(s.upper_dir(CID), "opt")
    os.makedirs(d)
    os.setxattr(d, "trusted.overlay.opaque", b"y")
    _write(s, "opt/z", b"z")
    changes = s.changes(CID)
    assert changes == [Change("opt", MODIFIED), Change("opt/z", ADDED)]
    data = b"".join(tar_changes(s.upper_dir(CID), [(c.path, False) for c in changes]))
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        assert tf.getnames() == ["opt", "opt/.wh..wh..opq", "opt/z"]
