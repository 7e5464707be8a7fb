"""Image transactions: names together at commit, rollback on abort and after a crash."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from cove.image.config import import_config
from cove.image.local import LocalImageStore
from cove.snapshot.native import NativeSnapshotter
from cove.store.local import LocalBlobStore
from tests.unit.archive.tarhelp import build, file


def _store(root: Path) -> LocalImageStore:
    return LocalImageStore(str(root), LocalBlobStore(str(root)), NativeSnapshotter(str(root)))


@pytest.fixture
def store(tmp_path: Path) -> LocalImageStore:
    if os.geteuid() != 0:
        pytest.skip("layer owners need root")
    return _store(tmp_path)


def _raw(store: LocalImageStore, data: bytes) -> bytes:
    import json

    d = store.add_layer(io.BytesIO(build(file("x", data))), [])
    return json.dumps(import_config([d], created="2024-01-01T00:00:00Z")).encode()


def test_commit_applies_names(store: LocalImageStore) -> None:
    with store.transaction() as txn:
        img = txn.create_raw(_raw(store, b"1"))
        txn.tag(img.id, "a:1")
        assert store.names() == {}
        assert txn.commit() == [("a:1", img.id, None)]
    assert store.resolve("a:1").id == img.id


def test_abort_and_crash_leave_nothing(store: LocalImageStore, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), store.transaction() as txn:
        txn.create_raw(_raw(store, b"2"))
        raise RuntimeError("boom")
    assert store.list() == []
    txn = store.transaction()  # "killed" before commit: the journal stays behind
    img = txn.create_raw(_raw(store, b"3"))
    assert store.has_image(img.id)
    reopened = _store(tmp_path)  # the next daemon start
    assert reopened.list() == [] and reopened.snapshotter.layer_keys() == []
    assert reopened.blobs.list() == []


def test_pins_survive_gc(store: LocalImageStore, tmp_path: Path) -> None:
    digest = store.blobs.put(b"a manifest")
    store.pin(digest, "registry")
    assert digest in _store(tmp_path).blobs.list()
    store.unpin(digest, "registry")
    assert digest not in _store(tmp_path).blobs.list()
