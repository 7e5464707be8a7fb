from __future__ import annotations

import gzip
import hashlib
import io
import os
from pathlib import Path

import pytest

from cove.errors import InvalidArgument, NotFound
from cove.image.config import import_config
from cove.image.local import LocalImageStore
from cove.oci.digest import chain_ids
from cove.snapshot.native import NativeSnapshotter
from cove.store.local import LocalBlobStore
from tests.unit.archive.tarhelp import build, file, whiteout

BASE = build(file("etc/os-release", b"ID=test\n"), file("bin/sh", b"#!"))
APP = build(file("app/run", b"run"), whiteout("etc/os-release"))
OTHER = build(file("other", b"o"))


def _d(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Store(LocalImageStore):
    blobs: LocalBlobStore
    snapshotter: NativeSnapshotter


def _open(root: Path, collect: bool = True) -> Store:
    blobs = LocalBlobStore(str(root))
    return Store(str(root), blobs, NativeSnapshotter(str(root)), collect=collect)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return _open(tmp_path)


def _image(store: Store, *layers: bytes, comment: str = "x") -> str:
    ids: list[str] = []
    for layer in layers:
        ids.append(store.add_layer(io.BytesIO(layer), list(ids)))
    return store.create(import_config(ids, message=comment, created="2024-01-01T00:00:00Z")).id


def test_add_layer_and_create(store: Store) -> None:
    assert store.add_layer(io.BytesIO(gzip.compress(BASE)), []) == _d(BASE)
    assert store.blobs.read(_d(BASE)) == BASE  # the uncompressed tar is kept
    img = store.create(import_config([_d(BASE)], created="2024-01-01T00:00:00Z"))
    assert img.id == _d(store.blobs.read(img.id))
    assert img.diff_ids == [_d(BASE)] and img.top_layer == _d(BASE)[7:]
    assert img.size == len(b"ID=test\n#!")
    assert store.create(img.config).id == img.id  # idempotent
    assert store.has_layers([_d(BASE)]) and not store.has_layers([_d(BASE), _d(APP)])
    assert [i.id for i in store.list()] == [img.id]


def test_resolve_forms(store: Store) -> None:
    iid = _image(store, BASE)
    store.tag(iid, "busybox")
    store.tag(iid, "localhost:5000/team/app:v1")
    img = store.resolve("busybox:latest")
    assert img.id == iid
    assert img.repo_tags == ["busybox:latest", "localhost:5000/team/app:v1"]
    refs = ["busybox", "docker.io/library/busybox:latest", "library/busybox", iid, iid[7:]]
    refs += [iid[:19], iid[7:19], iid[7:8], "localhost:5000/team/app:v1"]
    for ref in refs:
        assert store.resolve(ref).id == iid, ref
    for ref in ("busybox:other", "nothing", "sha256:" + "0" * 64, "0" * 64, "Bad!Ref", ""):
        with pytest.raises(NotFound, match="No such image: "):
            store.resolve(ref)
    digest = "sha256:" + "ab" * 32
    store.add_repo_digest(iid, f"busybox@{digest}")
    assert store.resolve(f"busybox@{digest}").id == iid
    assert store.resolve("busybox").repo_digests == [f"busybox@{digest}"]


def test_ambiguous_prefix_is_not_found(store: Store) -> None:
    ids = {_image(store, BASE, comment=str(i)) for i in range(40)}
    assert len(ids) == 40
    firsts = [i[7] for i in ids]
    dup = next(c for c in firsts if firsts.count(c) > 1)
    with pytest.raises(NotFound, match=f"No such image: {dup}"):
        store.resolve(dup)


def test_tag_untag(store: Store) -> None:
    iid = _image(store, BASE)
    store.tag(iid[7:19], "a:1")
    with pytest.raises(InvalidArgument, match="digest"):
        store.tag(iid, "a@sha256:" + "cd" * 32)
    with pytest.raises(NotFound):
        store.tag("sha256:" + "0" * 64, "b")
    with pytest.raises(InvalidArgument):
        store.tag(iid, "UPPER")
    assert store.untag("docker.io/library/a:1") == iid
    with pytest.raises(NotFound, match="No such image: a:1"):
        store.untag("a:1")
    assert store.resolve(iid).repo_tags == []


def test_names_and_records_persist(tmp_path: Path) -> None:
    s = _open(tmp_path)
    iid = _image(s, BASE, APP)
    s.tag(iid, "app:1")
    s2 = _open(tmp_path)
    img = s2.resolve("app:1")
    assert img.id == iid and len(img.diff_ids) == 2
    assert s2.record(iid)["layers"][1]["chain"] == chain_ids(img.diff_ids)[1][7:]


def test_dedup_and_shared_layers_on_delete(store: Store) -> None:
    a = _image(store, BASE, APP)
    b = _image(store, BASE, OTHER)
    snaps = store.snapshotter.layer_keys()
    assert len(snaps) == 3  # BASE once
    base_key = chain_ids([_d(BASE)])[0][7:]
    app_key = chain_ids([_d(BASE), _d(APP)])[1][7:]
    store.tag(a, "a")
    assert store.delete(a) == [a]
    assert not store.blobs.has(a) and store.blobs.has(b)
    assert store.snapshotter.has_layer(base_key) and not store.snapshotter.has_layer(app_key)
    assert not store.blobs.has(_d(APP)) and store.blobs.has(_d(BASE))
    with pytest.raises(NotFound):
        store.resolve("a")
    store.delete(b)
    assert store.snapshotter.layer_keys() == [] and store.blobs.list() == []


def test_delete_keeps_layer_of_a_child_image(store: Store) -> None:
    base = _image(store, BASE)
    child = _image(store, BASE, APP)
    store.delete(base)
    assert store.resolve(child).id == child
    assert len(store.snapshotter.layer_keys()) == 2 and store.blobs.has(_d(BASE))


def test_crash_mid_import_leaves_no_image(tmp_path: Path) -> None:
    s = _open(tmp_path)
    keep = _image(s, BASE)
    s.add_layer(io.BytesIO(OTHER), [])  # crashed before create()
    w = s.blobs.writer()
    w.write(b"half a blob")  # crashed while writing
    os.makedirs(os.path.join(s.snapshotter.home, "f" * 64 + ".tmp-x"))
    s2 = _open(tmp_path)  # restart: gc at open
    assert [i.id for i in s2.list()] == [keep]
    assert s2.snapshotter.layer_keys() == [_d(BASE)[7:]]
    assert sorted(s2.blobs.list()) == sorted([keep, _d(BASE)])
    assert os.listdir(s2.blobs.ingest_dir) == []
    assert [n for n in os.listdir(s2.snapshotter.home) if ".tmp-" in n] == []


def test_gc_keeps_what_it_is_told(tmp_path: Path) -> None:
    s = _open(tmp_path)
    extra = s.blobs.put(b"manifest")
    assert s.gc(keep=[extra])["blobs"] == 0 and s.blobs.has(extra)
    assert s.gc()["blobs"] == 1


def test_max_depth(store: Store) -> None:
    fake = [_d(str(i).encode()) for i in range(127)]
    with pytest.raises(InvalidArgument, match=r"max depth exceeded.*127"):
        store.add_layer(io.BytesIO(BASE), fake)
    with pytest.raises(InvalidArgument, match=r"max depth exceeded.*127"):
        store.create(import_config([*fake, fake[0]]))
    assert store.blobs.list() == [] and os.listdir(store.blobs.ingest_dir) == []


def test_bad_layers(store: Store) -> None:
    with pytest.raises(InvalidArgument):
        store.add_layer(io.BytesIO(gzip.compress(BASE)[:-20]), [])
    with pytest.raises(InvalidArgument):
        store.add_layer(io.BytesIO(b"not a tar" * 100), [])
    with pytest.raises(InvalidArgument, match="digest mismatch"):
        store.add_layer(io.BytesIO(BASE), [], diff_id=_d(b"other"))
    with pytest.raises(NotFound):
        store.add_layer(io.BytesIO(BASE), [_d(b"missing parent")])
    with pytest.raises(NotFound, match="does not exist"):
        store.create(import_config([_d(b"never added")]))
    assert store.blobs.list() == [] and store.snapshotter.layer_keys() == []


def test_last_tag_time_kept_per_image(tmp_path: Path) -> None:
    """dockerd's Metadata.LastTagTime: set by each name given (tag, or a transaction's
    names), kept across a restart, absent for an image never named."""
    s = _open(tmp_path)
    iid = _image(s, BASE)
    assert s.last_tagged(iid) is None
    s.tag(iid, "app:1")
    first = s.last_tagged(iid)
    assert first is not None and first.endswith("Z") and first.startswith("20")
    other = _image(s, OTHER)
    with s.transaction() as txn:
        txn.tag(other, "app:2")
        txn.tag(iid, "app:3")
        txn.commit()
    second = s.last_tagged(iid)
    assert second is not None and second >= first and s.last_tagged(other) is not None
    assert _open(tmp_path).last_tagged(iid) == second
