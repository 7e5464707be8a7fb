"""Both snapshotters without mounting: layout, publishing, dedup, removal, crash leftovers."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from cove.errors import Conflict, InvalidArgument, NotFound
from cove.snapshot.native import NativeSnapshotter
from cove.snapshot.overlay import OverlaySnapshotter
from cove.snapshot.select import driver_name, new_snapshotter
from tests.unit.archive.tarhelp import build, directory, file, opaque, symlink, whiteout

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
K1, K2, K3 = "1" * 64, "2" * 64, "3" * 64

L1 = build(file("etc/a", b"a"), file("etc/b", b"bb"), file("opt/x/y", b"y"), file("keep", b"k"))
L2 = build(whiteout("etc/a"), opaque("opt"), file("opt/new", b"n"), file("etc/c", b"c"))


class Unreadable(io.BytesIO):
    def read(self, *a: object) -> bytes:
        raise AssertionError("an existing layer must not be read again")


@pytest.fixture(params=["overlay2", "native"])
def snap(request: pytest.FixtureRequest, tmp_path: Path) -> OverlaySnapshotter | NativeSnapshotter:
    if request.param == "overlay2" and os.geteuid() != 0:
        pytest.skip("overlay whiteouts need root (trusted.* xattrs)")
    s = new_snapshotter(request.param, str(tmp_path))
    assert isinstance(s, OverlaySnapshotter | NativeSnapshotter)
    return s


def test_apply_chain_and_dedup(snap: OverlaySnapshotter | NativeSnapshotter) -> None:
    assert snap.apply_layer(K1, None, io.BytesIO(L1)) == 5
    assert snap.apply_layer(K2, K1, io.BytesIO(L2)) == 2
    assert snap.layer_keys() == [K1, K2]
    assert snap.has_layer(K1) and not snap.has_layer(K3) and not snap.has_layer("../x")
    assert snap.apply_layer(K1, None, Unreadable()) == 5  # dedup: not read again
    assert snap.layer_size(K2) == 2
    with pytest.raises(NotFound):
        snap.apply_layer(K3, "9" * 64, io.BytesIO(L1))
    with pytest.raises(InvalidArgument):
        snap.apply_layer("../evil", None, io.BytesIO(L1))
    with pytest.raises(NotFound):
        snap.apply_layer("containers", None, io.BytesIO(L1))


def test_hostile_layer_publishes_nothing(snap: OverlaySnapshotter | NativeSnapshotter) -> None:
    bad = build(symlink("l", "/"), file("l/tmp/pwned", b"x"))
    with pytest.raises(InvalidArgument):
        snap.apply_layer(K1, None, io.BytesIO(bad))
    assert not snap.has_layer(K1)
    assert [n for n in os.listdir(snap.home) if ".tmp-" in n] == []
    if isinstance(snap, OverlaySnapshotter):
        assert os.listdir(snap.link_dir) == []
    assert not os.path.exists("/tmp/pwned")


def test_containers(snap: OverlaySnapshotter | NativeSnapshotter) -> None:
    snap.apply_layer(K1, None, io.BytesIO(L1))
    cid = "c" * 64
    mounts = snap.prepare(cid, K1)
    assert snap.prepare(cid, K1) == mounts  # idempotent
    with pytest.raises(Conflict):
        snap.prepare(cid, None)
    assert snap.mounts(cid) == mounts
    assert os.path.isdir(snap.upper_dir(cid)) and os.path.isdir(snap.mount_point(cid))
    with pytest.raises(Conflict):
        snap.remove_layer(K1)  # the container stands on it
    snap.remove(cid)
    snap.remove(cid)  # idempotent
    with pytest.raises(NotFound):
        snap.mounts(cid)
    snap.remove_layer(K1)
    assert snap.layer_keys() == []
    with pytest.raises(NotFound):
        snap.prepare(cid, K1)
    assert snap.prepare("d" * 64, None)  # a container on no image


def test_remove_layer_with_child(snap: OverlaySnapshotter | NativeSnapshotter) -> None:
    snap.apply_layer(K1, None, io.BytesIO(L1))
    snap.apply_layer(K2, K1, io.BytesIO(L2))
    with pytest.raises(Conflict):
        snap.remove_layer(K1)
    snap.remove_layer(K2)
    snap.remove_layer(K1)
    snap.remove_layer(K1)
    assert snap.layer_keys() == []


def test_cleanup_after_crash(snap: OverlaySnapshotter | NativeSnapshotter) -> None:
    snap.apply_layer(K1, None, io.BytesIO(L1))
    os.makedirs(os.path.join(snap.home, f"{K2}.tmp-abc", "diff"))
    os.makedirs(os.path.join(snap.cdir, "x.tmp-1"))
    os.makedirs(os.path.join(snap.home, K3))  # no size file: never published
    n = snap.cleanup()
    assert n == 3
    assert sorted(os.listdir(snap.home)) == sorted(
        [K1, "containers", *(["l", "empty"] if isinstance(snap, OverlaySnapshotter) else [])]
    )


@root_only
def test_overlay_layout(tmp_path: Path) -> None:
    s = OverlaySnapshotter(str(tmp_path))
    s.apply_layer(K1, None, io.BytesIO(L1))
    s.apply_layer(K2, K1, io.BytesIO(L2))
    s.apply_layer(K3, K2, io.BytesIO(build(directory("x"))))
    home = tmp_path / "overlay2"
    link1 = (home / K1 / "link").read_text()
    link2 = (home / K2 / "link").read_text()
    assert len(link1) == 26 and os.readlink(home / "l" / link1) == f"../{K1}/diff"
    assert (home / K3 / "lower").read_text() == f"l/{link2}:l/{link1}"
    assert not (home / K1 / "lower").exists()
    assert s.lower_dirs(K3)[1:] == [str(home / "l" / link2), str(home / "l" / link1)]
    diff2 = home / K2 / "diff"
    assert stat.S_ISCHR(os.lstat(diff2 / "etc/a").st_mode)
    assert os.getxattr(diff2 / "opt", "trusted.overlay.opaque") == b"y"
    (m,) = s.prepare("c1", K3)
    assert m.type == "overlay" and m.options[0].startswith("lowerdir=" + str(home / "l"))
    assert m.options[1:] == (
        f"upperdir={home}/containers/c1/upper",
        f"workdir={home}/containers/c1/work",
    )
    (m0,) = s.prepare("c0", None)
    assert m0.options[0] == f"lowerdir={home}/empty"
    # crash repairs: a dangling link goes, a missing one comes back
    os.symlink("../nope/diff", home / "l" / "DANGLING")
    os.unlink(home / "l" / link1)
    s.cleanup()
    assert not os.path.lexists(home / "l" / "DANGLING")
    assert os.readlink(home / "l" / link1) == f"../{K1}/diff"
    s.remove("c1")
    s.remove_layer(K3)
    assert len(os.listdir(home / "l")) == 2


def test_native_layers_are_full_copies(tmp_path: Path) -> None:
    s = NativeSnapshotter(str(tmp_path))
    s.apply_layer(K1, None, io.BytesIO(L1))
    s.apply_layer(K2, K1, io.BytesIO(L2))
    r1, r2 = Path(s.rootfs(K1)), Path(s.rootfs(K2))
    assert sorted(os.listdir(r1 / "etc")) == ["a", "b"]
    assert sorted(os.listdir(r2 / "etc")) == ["b", "c"]
    assert sorted(os.listdir(r2 / "opt")) == ["new"]
    assert (r2 / "keep").read_bytes() == b"k"
    (m,) = s.prepare("c1", K2)
    assert m.type == "bind" and m.source == s.upper_dir("c1")
    assert (Path(m.source) / "etc/b").read_bytes() == b"bb"
    assert os.stat(m.source + "/etc/b").st_ino != os.stat(r2 / "etc/b").st_ino


def test_driver_names(tmp_path: Path) -> None:
    assert driver_name("overlay") == "overlay2" and driver_name("vfs") == "native"
    assert new_snapshotter("vfs", str(tmp_path)).name == "native"
    with pytest.raises(InvalidArgument, match="unknown storage driver"):
        driver_name("zfs")
