"""Real mounts (root): layers with whiteouts on overlay and native, deep chains, cleanup."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest

from cove.errors import Conflict, SystemError_
from cove.image.config import import_config
from cove.image.local import LocalImageStore
from cove.snapshot import mount as mounter
from cove.snapshot.base import Mount
from cove.snapshot.native import NativeSnapshotter
from cove.snapshot.overlay import OverlaySnapshotter
from cove.snapshot.select import check_overlay_supported
from cove.store.local import LocalBlobStore
from tests.unit.archive.tarhelp import (
    BUSYBOX,
    build,
    busybox_rootfs,
    directory,
    file,
    opaque,
    tar_of_dir,
    whiteout,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.exists(BUSYBOX), reason="needs /usr/bin/busybox"),
]


def _store(root: Path, snap: OverlaySnapshotter | NativeSnapshotter) -> LocalImageStore:
    return LocalImageStore(str(root), LocalBlobStore(str(root)), snap)


def _image(store: LocalImageStore, *layers: bytes) -> list[str]:
    ids: list[str] = []
    for layer in layers:
        ids.append(store.add_layer(io.BytesIO(layer), list(ids)))
    store.create(import_config(ids))
    return ids


def _three_layers(tmp: Path) -> list[bytes]:
    base = tar_of_dir(busybox_rootfs(str(tmp / "rootfs")))
    mid = build(file("opt/old", b"old"), file("opt/sub/deep", b"d"), file("etc/x", b"x"))
    top = build(
        whiteout("etc/group"),
        whiteout("etc/x"),
        directory("opt"),
        file("opt/new", b"new"),
        opaque("opt"),
        file("etc/motd", b"hello\n"),
    )
    return [base, mid, top]


def _check_merged(merged: Path) -> None:
    assert (merged / "etc/passwd").exists()
    assert not (merged / "etc/group").exists()  # whited out
    assert not (merged / "etc/x").exists()
    assert sorted(os.listdir(merged / "opt")) == ["new"]  # opaque: lower content hidden
    assert (merged / "etc/motd").read_bytes() == b"hello\n"
    out = subprocess.run(
        ["chroot", str(merged), "/bin/sh", "-c", "cat /etc/motd; ls /opt"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout == "hello\nnew\n"


@pytest.mark.parametrize("driver", ["overlay2", "native"])
def test_layers_with_whiteouts_mounted(root: Path, driver: str, tmp_path: Path) -> None:
    if driver == "overlay2":
        reason = check_overlay_supported(str(root))
        if reason:
            pytest.skip(reason)
        snap: OverlaySnapshotter | NativeSnapshotter = OverlaySnapshotter(str(root))
    else:
        snap = NativeSnapshotter(str(root))
    store = _store(root, snap)
    ids = _image(store, *_three_layers(tmp_path))
    top = store.resolve(_only_id(store)).top_layer
    assert len(ids) == 3
    mounts = snap.prepare("c1", top)
    target = Path(snap.mount_point("c1"))
    mounter.mount_all(mounts, str(target))
    try:
        assert mounter.mounts_under(str(target)) == [str(target)]
        _check_merged(target)
        (target / "written").write_bytes(b"w")
        os.unlink(target / "etc/passwd")
        with pytest.raises(Conflict):
            snap.remove("c1")  # still mounted: refused, nothing deleted
        assert (target / "written").exists()
    finally:
        mounter.unmount(str(target))
    mounter.unmount(str(target))  # idempotent
    assert mounter.mounts_under(str(root)) == []
    upper = Path(snap.upper_dir("c1"))
    assert (upper / "written").read_bytes() == b"w"
    if driver == "overlay2":
        assert os.lstat(upper / "etc/passwd").st_rdev == 0  # a whiteout in the upper dir
    snap.remove("c1")
    assert not upper.exists()


def _only_id(store: LocalImageStore) -> str:
    (img,) = store.list()
    return img.id


def test_deep_chain_beyond_the_page_size(root: Path) -> None:
    reason = check_overlay_supported(str(root))
    if reason:
        pytest.skip(reason)
    snap = OverlaySnapshotter(str(root))
    store = _store(root, snap)
    ids = _image(store, *[build(file(f"f{i:03d}", str(i).encode())) for i in range(127)])
    top = store.resolve(_only_id(store)).top_layer
    (m,) = snap.prepare("deep", top)
    assert len(",".join(m.options)) > os.sysconf("SC_PAGE_SIZE")
    target = snap.mount_point("deep")
    mounter.mount_all([m], target)
    try:
        assert len(os.listdir(target)) == 127
        assert (Path(target) / "f000").read_bytes() == b"0"
    finally:
        mounter.unmount(target)
    # the fallback for kernels without "lowerdir+": relative paths from a child process
    mounter._overlay_relative(target, m.options)
    try:
        assert (Path(target) / "f126").read_bytes() == b"126"
    finally:
        mounter.unmount(target)
    assert len(ids) == 127


def test_check_overlay_explains_a_nested_overlay(root: Path) -> None:
    if check_overlay_supported(str(root)):
        pytest.skip("overlay unsupported here anyway")
    snap = OverlaySnapshotter(str(root))
    snap.apply_layer("a" * 64, None, io.BytesIO(build(file("x", b"x"))))
    snap.prepare("c", "a" * 64)
    target = snap.mount_point("c")
    mounter.mount_all(snap.mounts("c"), target)
    try:
        reason = check_overlay_supported(os.path.join(target, "data"))
        # Recent kernels accept an overlay upper dir on overlay; older ones refuse it, and
        # then the reason must name the filesystem instead of "invalid argument".
        assert reason is None or "overlay" in reason
    finally:
        mounter.unmount(target)
        snap.remove("c")


def test_mount_failure_is_explained(root: Path) -> None:
    target = root / "m"
    target.mkdir()
    opts = (f"lowerdir={root}/nope", f"upperdir={root}", f"workdir={root}/w")
    with pytest.raises(SystemError_, match="mount"):
        mounter.mount_all([Mount("overlay", "overlay", opts)], str(target))
    assert mounter.mounts_under(str(root)) == []
