"""One suite for every content store (store/base.py's BlobStore): today the local one.

A new implementation joins by adding a factory to STORES; the contract checked is the
Protocol's: a blob is visible under its digest only once verified, a mismatch leaves
nothing, reads of a missing blob raise NotFound.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from cove.errors import InvalidArgument, NotFound
from cove.store.base import BlobStore
from cove.store.local import LocalBlobStore

STORES: dict[str, Callable[[str], BlobStore]] = {"local": LocalBlobStore}


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return STORES[str(request.param)](str(tmp_path))


def test_put_read_list_delete(store: BlobStore) -> None:
    d = store.put(b"hello")
    assert d == digest(b"hello") and store.has(d)
    assert store.read(d) == b"hello" and store.size(d) == 5
    with store.open(d) as f:
        assert f.read() == b"hello"
    assert store.put(b"hello", d) == d  # idempotent
    assert store.list() == [d]
    store.delete(d)
    assert not store.has(d) and store.list() == []
    with pytest.raises(NotFound):
        store.open(d)


def test_writer_verifies_before_publishing(store: BlobStore) -> None:
    w = store.writer()
    w.write(b"ab")
    w.write(b"c")
    assert w.digest() == digest(b"abc")
    with pytest.raises(InvalidArgument, match="digest mismatch"):
        w.commit(digest(b"other"))
    assert store.list() == []
    w = store.writer()
    w.write(b"abc")
    with pytest.raises(InvalidArgument, match="digest mismatch"):
        w.commit(digest(b"abc"), size=4)
    assert store.list() == []
    w = store.writer()
    w.write(b"abc")
    assert w.commit(digest(b"abc"), size=3) == digest(b"abc")
    w = store.writer()
    w.write(b"dropped")
    w.abort()
    assert store.list() == [digest(b"abc")]
    assert store.gc_ingest() == 0


def test_bad_digest_on_put(store: BlobStore) -> None:
    with pytest.raises(InvalidArgument, match="digest mismatch"):
        store.put(b"hello", digest(b"other"))
    assert store.list() == []
