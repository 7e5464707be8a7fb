from __future__ import annotations

import hashlib
import io
import os

import pytest

from cove.errors import InvalidArgument, NotFound
from cove.store.local import LocalBlobStore


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path: object) -> LocalBlobStore:
    return LocalBlobStore(str(tmp_path))


def test_put_and_read(store: LocalBlobStore) -> None:
    d = store.put(b"hello")
    assert d == _digest(b"hello")
    assert store.has(d)
    assert store.read(d) == b"hello"
    assert store.size(d) == 5
    assert store.path(d).endswith("/blobs/sha256/" + d[7:])
    assert store.list() == [d]
    with store.open(d) as f:
        assert f.read() == b"hello"


def test_put_is_idempotent(store: LocalBlobStore) -> None:
    assert store.put(b"x") == store.put(b"x", _digest(b"x"))
    assert len(store.list()) == 1
    assert os.listdir(store.ingest_dir) == []


def test_digest_mismatch_discards(store: LocalBlobStore) -> None:
    with pytest.raises(InvalidArgument, match="digest mismatch"):
        store.put(b"hello", _digest(b"other"))
    assert store.list() == []
    assert os.listdir(store.ingest_dir) == []


def test_size_mismatch_discards(store: LocalBlobStore) -> None:
    w = store.writer()
    w.write(b"abc")
    with pytest.raises(InvalidArgument, match="digest mismatch"):
        w.commit(_digest(b"abc"), size=4)
    assert store.list() == [] and os.listdir(store.ingest_dir) == []


def test_streaming_writer(store: LocalBlobStore) -> None:
    data = os.urandom(3 << 20)
    d = store.put_stream(io.BytesIO(data), _digest(data), len(data))
    assert store.read(d) == data


def test_untrusted_digest_never_becomes_a_path(store: LocalBlobStore) -> None:
    for bad in ("sha256:../../etc/passwd", "sha256:ABC", "md5:00", "../x", ""):
        with pytest.raises(InvalidArgument):
            store.path(bad)
        with pytest.raises(InvalidArgument):
            store.put(b"x", bad)
    assert store.list() == []


def test_missing_blob(store: LocalBlobStore) -> None:
    d = _digest(b"nope")
    assert not store.has(d)
    with pytest.raises(NotFound):
        store.open(d)
    with pytest.raises(NotFound):
        store.size(d)
    store.delete(d)  # idempotent


def test_crash_leftovers_are_collected(store: LocalBlobStore, tmp_path: object) -> None:
    # An interrupted writer: its temp file stays in ingest/ and is not a visible blob.
    w = store.writer()
    w.write(b"partial")
    with open(os.path.join(store.ingest_dir, "ingest-crashed"), "wb") as f:
        f.write(b"junk")
    assert store.list() == []
    # gc spares the live writer of this process, removes the crash leftover.
    assert store.gc_ingest() == 1
    assert w.commit() == _digest(b"partial")
    assert store.gc_ingest() == 0
    # A fresh store on the same root (after a restart) collects everything left.
    w2 = store.writer()
    w2.write(b"x")
    assert LocalBlobStore(str(tmp_path)).gc_ingest() == 1


def test_abort_and_context_manager(store: LocalBlobStore) -> None:
    with store.writer() as w:
        w.write(b"never committed")
    assert os.listdir(store.ingest_dir) == []
    w = store.writer()
    w.abort()
    with pytest.raises(InvalidArgument):
        w.write(b"x")


def test_delete(store: LocalBlobStore) -> None:
    d = store.put(b"bye")
    store.delete(d)
    assert not store.has(d)
