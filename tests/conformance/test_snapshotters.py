"""One suite, every snapshotter: overlay2 and fuse-overlayfs (root), native and
cove.testing's memory one.

Only what the Snapshotter Protocol promises (snapshot/base.py) is checked here; each
driver's own layout and crash repairs are in tests/unit/snapshot.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from cove.errors import Conflict, NotFound
from cove.snapshot.base import Snapshotter
from cove.snapshot.select import new_snapshotter
from cove.testing.snapshot import MemorySnapshotter
from tests.unit.archive.tarhelp import build, file, opaque, whiteout

K1, K2, K3 = "1" * 64, "2" * 64, "3" * 64
C1, C2 = "c" * 64, "d" * 64
L1 = build(file("etc/a", b"a"), file("etc/b", b"bb"), file("opt/x/y", b"y"))
L2 = build(whiteout("etc/a"), opaque("opt"), file("opt/new", b"n"))


class Unreadable(io.BytesIO):
    def read(self, *a: object) -> bytes:
        raise AssertionError("an existing layer must not be read again")


@pytest.fixture(params=["overlay2", "fuse-overlayfs", "native", "memory"])
def snap(request: pytest.FixtureRequest, tmp_path: Path) -> Snapshotter:
    if request.param == "memory":
        return MemorySnapshotter(str(tmp_path / "memory"))
    if request.param != "native" and os.geteuid() != 0:
        pytest.skip("overlay whiteouts need root (trusted.* xattrs)")
    return new_snapshotter(str(request.param), str(tmp_path))


def test_layers_chain_and_dedup(snap: Snapshotter) -> None:
    size1 = snap.apply_layer(K1, None, io.BytesIO(L1))
    snap.apply_layer(K2, K1, io.BytesIO(L2))
    assert snap.layer_keys() == [K1, K2]
    assert snap.has_layer(K1) and not snap.has_layer(K3)
    assert snap.apply_layer(K1, None, Unreadable()) == size1 == snap.layer_size(K1)
    with pytest.raises(NotFound):
        snap.layer_size(K3)
    with pytest.raises(NotFound):
        snap.apply_layer(K3, "9" * 64, io.BytesIO(L1))
    assert not snap.has_layer(K3)


def test_remove_layer_in_use_and_idempotent(snap: Snapshotter) -> None:
    snap.apply_layer(K1, None, io.BytesIO(L1))
    snap.apply_layer(K2, K1, io.BytesIO(L2))
    with pytest.raises(Conflict):
        snap.remove_layer(K1)  # K2 is built on it
    snap.remove_layer(K2)
    snap.remove_layer(K2)
    snap.remove_layer(K1)
    assert snap.layer_keys() == []


def test_container_layers(snap: Snapshotter) -> None:
    snap.apply_layer(K1, None, io.BytesIO(L1))
    mounts = snap.prepare(C1, K1)
    assert snap.prepare(C1, K1) == mounts  # idempotent for the same parent
    with pytest.raises(Conflict):
        snap.prepare(C1, None)
    assert snap.mounts(C1) == mounts
    assert os.path.isdir(snap.upper_dir(C1)) and os.path.isdir(snap.mount_point(C1))
    assert snap.container_ids() == [C1]
    with pytest.raises(Conflict):
        snap.remove_layer(K1)  # the container stands on it
    snap.remove(C1)
    snap.remove(C1)  # idempotent
    assert snap.container_ids() == []
    with pytest.raises(NotFound):
        snap.mounts(C1)
    snap.remove_layer(K1)
    with pytest.raises(NotFound):
        snap.prepare(C1, K1)
    snap.prepare(C2, None)  # a container on no image
    assert snap.container_ids() == [C2]
    assert snap.changes(C2) == []
    assert snap.cleanup() == 0
