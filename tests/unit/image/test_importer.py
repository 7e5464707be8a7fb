from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import pytest

from cove.errors import InvalidArgument
from cove.image.importer import import_rootfs
from cove.image.local import LocalImageStore
from cove.snapshot.native import NativeSnapshotter
from cove.store.local import LocalBlobStore
from tests.unit.archive.tarhelp import BUSYBOX, busybox_rootfs, tar_of_dir


class Untouchable(io.BytesIO):
    def read(self, *a: object) -> bytes:
        raise AssertionError("read before the changes were checked")


@pytest.fixture
def store(tmp_path: Path) -> LocalImageStore:
    root = str(tmp_path / "data")
    return LocalImageStore(root, LocalBlobStore(root), NativeSnapshotter(root))


@pytest.mark.skipif(not os.path.exists(BUSYBOX), reason="needs /usr/bin/busybox")
def test_import_busybox_rootfs(store: LocalImageStore, tmp_path: Path) -> None:
    tar = tar_of_dir(busybox_rootfs(str(tmp_path / "rootfs")))
    img = import_rootfs(
        store, io.BytesIO(gzip.compress(tar)), ['CMD ["sh"]', "ENV A=b"], None, "busybox"
    )
    assert img.repo_tags == ["busybox:latest"]
    assert img.config["config"]["Cmd"] == ["sh"] and img.config["config"]["Env"] == ["A=b"]
    assert img.config["history"][0]["comment"] == "Imported from -"
    assert len(img.diff_ids) == 1 and store.blobs.read(img.diff_ids[0]) == tar
    assert store.resolve("busybox").id == img.id
    rootfs = store.snapshotter.rootfs(img.top_layer or "")  # type: ignore[attr-defined]
    assert os.readlink(os.path.join(rootfs, "bin", "sh")) == "busybox"
    # the same tar again: same layer, a new image only if the config differs
    again = import_rootfs(store, io.BytesIO(tar), [], "second", None)
    assert again.diff_ids == img.diff_ids and again.id != img.id
    assert again.config["comment"] == "second" and again.repo_tags == []


def test_bad_change_fails_before_reading(store: LocalImageStore) -> None:
    with pytest.raises(InvalidArgument, match="is not a valid change command"):
        import_rootfs(store, Untouchable(), ["RUN true"], None, None)
    with pytest.raises(InvalidArgument):
        import_rootfs(store, Untouchable(), [], None, "x@sha256:" + "a" * 64)
    assert store.list() == []
