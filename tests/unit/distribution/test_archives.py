"""The copy engine between the local store and archives: round trips, formats, refusals."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from cove.distribution.archive_in import ArchiveSource
from cove.distribution.archive_out import ArchiveWriter
from cove.distribution.base import MAX_LAYERS, OCI_LAYER, Layer, SourceImage
from cove.distribution.copy import copy_images
from cove.distribution.local import LocalDestination, LocalSource
from cove.errors import InvalidArgument, NotFound
from cove.image.config import import_config
from cove.image.local import LocalImageStore
from cove.snapshot.native import NativeSnapshotter
from cove.store.local import LocalBlobStore
from tests.unit.archive.tarhelp import build, file


def _store(root: Path) -> LocalImageStore:
    blobs = LocalBlobStore(str(root))
    return LocalImageStore(str(root), blobs, NativeSnapshotter(str(root)))


@pytest.fixture
def src(tmp_path: Path) -> LocalImageStore:
    if os.geteuid() != 0:
        pytest.skip("layer owners need root")
    s = _store(tmp_path / "src")
    d1 = s.add_layer(io.BytesIO(build(file("etc/a", b"a"))), [])
    d2 = s.add_layer(io.BytesIO(build(file("etc/b", b"b"))), [d1])
    base = s.create(import_config([d1], created="2024-01-01T00:00:00Z"))
    top = s.create(import_config([d1, d2], created="2024-01-02T00:00:00Z", message="two"))
    s.tag(base.id, "base:1")
    s.tag(top.id, "app:1")
    s.tag(top.id, "app:2")
    return s


def _save(store: LocalImageStore, *names: str) -> bytes:
    out = io.BytesIO()
    copy_images(LocalSource(store, store.blobs, names), ArchiveWriter(out.write))
    return out.getvalue()


def _load(data: bytes, dst: LocalImageStore, tmp: Path) -> LocalDestination:
    os.makedirs(tmp, exist_ok=True)
    dest = LocalDestination(dst)
    copy_images(ArchiveSource(io.BytesIO(data), str(tmp)), dest)
    return dest


def test_round_trip_keeps_ids_names_and_dedups(src: LocalImageStore, tmp_path: Path) -> None:
    data = _save(src, "base:1", "app")  # a bare name: every tag of the repository
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        names = tf.getnames()
        manifest = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert names.count("blobs/sha256/" + src.resolve("base:1").diff_ids[0][7:]) == 1
    assert {"oci-layout", "index.json", "manifest.json", "repositories"} <= set(names)
    assert [m["RepoTags"] for m in manifest] == [["base:1"], ["app:1", "app:2"]]
    dst = _store(tmp_path / "dst")
    _load(data, dst, tmp_path / "spool")
    assert dst.resolve("app:2").id == src.resolve("app:1").id
    assert dst.resolve("base:1").id == src.resolve("base:1").id
    # loading again stores nothing new, compressed input too
    _load(gzip.compress(data), dst, tmp_path / "spool")
    assert len(dst.list()) == 2


def test_save_by_id_has_no_names(src: LocalImageStore) -> None:
    data = _save(src, src.resolve("base:1").id[7:19])
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        assert json.load(tf.extractfile("manifest.json"))[0]["RepoTags"] is None  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        _save(src, "nope:1")


def test_truncated_archive_is_refused_and_leaves_nothing(
    src: LocalImageStore, tmp_path: Path
) -> None:
    data = _save(src, "app:1")
    dst = _store(tmp_path / "dst")
    for cut in (len(data) // 3, len(data) - 1500):
        with pytest.raises(InvalidArgument, match="invalid archive"):
            _load(data[:cut], dst, tmp_path / "spool")
        assert dst.list() == [] and dst.names() == {}
    assert not [n for n in os.listdir(dst.dir) if n.startswith("txn-")]


def test_tampered_oci_blob_is_refused(src: LocalImageStore, tmp_path: Path) -> None:
    data = _save(src, "app:1")
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data)) as tin, tarfile.open(fileobj=out, mode="w") as t:
        for m in tin:
            body = tin.extractfile(m).read() if m.isreg() else None  # type: ignore[union-attr]
            if m.name == "manifest.json":
                continue  # the OCI side only
            if body is not None and m.name.startswith("blobs/") and body.startswith(b"{"):
                body = body.replace(b"schemaVersion", b"schemaversion")
            if body is not None:
                m.size = len(body)
            t.addfile(m, io.BytesIO(body) if body is not None else None)
    with pytest.raises(InvalidArgument, match="does not match its digest"):
        _load(out.getvalue(), _store(tmp_path / "dst"), tmp_path / "spool")


class _Deep:
    def __init__(self, n: int) -> None:
        self.n = n
        self.closed = False

    def images(self) -> list[SourceImage]:
        layers = [Layer("sha256:" + f"{i:064x}", "", 1, OCI_LAYER) for i in range(self.n)]
        return [SourceImage(b"{}", layers)]

    def open_layer(self, image: SourceImage, layer: Layer) -> io.BytesIO:
        raise AssertionError("nothing may be read")

    def close(self) -> None:
        self.closed = True


def test_layer_limit_before_anything_moves(tmp_path: Path) -> None:
    dst = LocalDestination(_store(tmp_path))
    deep = _Deep(MAX_LAYERS + 1)
    with pytest.raises(InvalidArgument, match="max depth exceeded"):
        copy_images(deep, dst)
    assert deep.closed
