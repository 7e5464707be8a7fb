"""Garbage collection: mark every blob a manifest of any repository reaches, sweep the rest.

Run while nothing pushes (as distribution's ``garbage-collect``): an upload finishing during
the sweep could lose a blob its manifest has not named yet.  Layer links to removed blobs
are dropped too, and so are upload leftovers.
"""

from __future__ import annotations

import contextlib
import json
import os

from cove.errors import InvalidArgument, NotFound
from cove.registry.storage import Storage


def referenced(store: Storage) -> set[str]:
    keep: set[str] = set()
    for name in store.repositories():
        for digest in store.revisions(name):
            _mark(store, digest, keep)
    return keep


def _mark(store: Storage, digest: str, keep: set[str]) -> None:
    if digest in keep:
        return
    keep.add(digest)
    try:
        data = json.loads(store.blobs.read(digest))
    except (NotFound, ValueError, InvalidArgument):
        return
    if not isinstance(data, dict):
        return
    for m in data.get("manifests") or []:
        if isinstance(m, dict) and "digest" in m:
            _mark(store, str(m["digest"]), keep)
    for d in [data.get("config") or {}, *(data.get("layers") or [])]:
        if isinstance(d, dict) and "digest" in d:
            keep.add(str(d["digest"]))


def collect(store: Storage, dry_run: bool = False) -> list[str]:
    """Remove unreferenced blobs; returns their digests."""
    keep = referenced(store)
    gone = [d for d in store.blobs.list() if d not in keep]
    if dry_run:
        return gone
    for d in gone:
        store.blobs.delete(d)
    for name in store.repositories():
        layers = os.path.join(store.repos_dir, name, "_layers")
        with contextlib.suppress(FileNotFoundError):
            for h in os.listdir(layers):
                if not store.blobs.has("sha256:" + h):
                    os.unlink(os.path.join(layers, h))
    for u in os.listdir(store.uploads_dir):
        store.cancel_upload(u)
    store.blobs.gc_ingest()
    return gone
