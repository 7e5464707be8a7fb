"""The local image store: image records and names over a blob store and a snapshotter.

Layout under ``<root>/image``: ``repositories.json`` maps normalised references
(``docker.io/library/busybox:latest``, ``...@sha256:..``) to image IDs; ``images/<hex>.json``
holds one record per image (config digest, time added, layer sizes).  The config itself is
a blob, whose digest is the image ID; layer tars are blobs named by their diff IDs and
unpacked as snapshots keyed by ChainID.

Crash safety: a record is written (atomically) only after its config blob, layer blobs and
snapshots exist, and a name only after its record; deletion goes the other way.  What an
interrupted import or delete leaves behind is unreferenced, and ``gc`` (run at open)
removes it: no half-imported image is ever visible.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from cove.archive.compression import decompress
from cove.errors import Conflict, CoveError, InvalidArgument, NotFound, no_such_image
from cove.image.base import Image
from cove.image.txn import ImageTxn, leftover_journals
from cove.oci import reference
from cove.oci.digest import chain_ids, hex_of, validate
from cove.snapshot.base import Snapshotter
from cove.store.base import BlobStore
from cove.util.fs import atomic_write_json, fsync_dir, makedirs, read_json

MAX_LAYERS = 127  # Docker's limit on the depth of a layer chain (overlay's lowerdir stack)
_HEXPREFIX = re.compile(r"^(?:sha256:)?([0-9a-f]{1,64})$")


def max_depth_error(n: int) -> InvalidArgument:
    return InvalidArgument(
        f"max depth exceeded: an image has at most {MAX_LAYERS} layers, this one would have {n}"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class LocalImageStore:
    """Implements ``cove.image.base.ImageStore``.  Thread-safe within one process.

    ``collect`` runs ``gc`` at open (the daemon's start); tests may turn it off."""

    def __init__(
        self, root: str, blobs: BlobStore, snapshotter: Snapshotter, collect: bool = True
    ) -> None:
        self.blobs = blobs
        self.snapshotter = snapshotter
        self.dir = makedirs(os.path.join(root, "image"), 0o700)
        self.records_dir = makedirs(os.path.join(self.dir, "images"), 0o700)
        self.names_path = os.path.join(self.dir, "repositories.json")
        self._lock = threading.RLock()
        self._configs: dict[str, dict[str, Any]] = {}
        self._records: dict[str, dict[str, Any]] = self._load_records()
        self._names: dict[str, str] = self._load_names()
        self.pins_path = os.path.join(self.dir, "pins.json")
        if collect:
            self.recover()
            self.gc()

    # --- persistence ----------------------------------------------------------------------
    def _load_records(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name in os.listdir(self.records_dir):
            if name.endswith(".json") and _HEXPREFIX.match(name[:-5]) and len(name) == 69:
                with contextlib.suppress(OSError, ValueError):
                    out["sha256:" + name[:-5]] = read_json(os.path.join(self.records_dir, name))
        return out

    def _load_names(self) -> dict[str, str]:
        try:
            data = read_json(self.names_path)
        except FileNotFoundError:
            return {}
        refs = data.get("refs", {}) if isinstance(data, dict) else {}
        return {k: v for k, v in refs.items() if v in self._records}

    def _save_names(self) -> None:
        atomic_write_json(self.names_path, {"refs": dict(sorted(self._names.items()))}, 0o600)

    @contextlib.contextmanager
    def _names_change(self) -> Iterator[None]:
        """Change ``_names`` inside, saved at the end; if anything fails (the write on a
        full disk included) the names are as they were, in memory as on disk."""
        old = dict(self._names)
        try:
            yield
            self._save_names()
        except BaseException:
            self._names = old
            raise

    def _record_path(self, image_id: str) -> str:
        return os.path.join(self.records_dir, hex_of(image_id) + ".json")

    # --- reading --------------------------------------------------------------------------
    def _image(self, image_id: str) -> Image:
        config = self._configs.get(image_id)
        if config is None:
            config = json.loads(self.blobs.read(image_id))
            self._configs[image_id] = config
        tags: list[str] = []
        digests: list[str] = []
        for key, target in sorted(self._names.items()):
            if target == image_id:
                ref = reference.parse(key, default_tag=None)
                (digests if ref.digest else tags).append(ref.familiar())
        return Image(image_id, config, tags, digests, int(self._records[image_id]["size"]))

    def record(self, image_id: str) -> dict[str, Any]:
        """The stored record: {"config", "added", "layers": [{"chain", "size"}], "size"}."""
        with self._lock:
            try:
                return dict(self._records[validate(image_id)])
            except (KeyError, InvalidArgument):
                raise no_such_image(image_id) from None

    def resolve(self, ref: str) -> Image:
        with self._lock:
            return self._image(self._resolve_id(ref))

    def _resolve_id(self, ref: str) -> str:
        m = _HEXPREFIX.match(ref)
        if m and len(m.group(1)) == 64:
            if "sha256:" + m.group(1) in self._records:
                return "sha256:" + m.group(1)
            raise no_such_image(ref)
        if not ref.startswith("sha256:"):
            try:
                key = str(reference.parse(ref))
            except InvalidArgument:
                key = ""
            if key in self._names:
                return self._names[key]
        if m:  # a short ID, as ``docker`` accepts: it must be unique
            hits = [i for i in self._records if i[7:].startswith(m.group(1))]
            if len(hits) == 1:
                return hits[0]
        raise no_such_image(ref)

    def names(self) -> dict[str, str]:
        """Every name (normalised reference) with the image ID it points at."""
        with self._lock:
            return dict(self._names)

    # --- adding ---------------------------------------------------------------------------
    def has_layers(self, diff_ids: list[str]) -> bool:
        """True when the chain ``diff_ids`` is fully present (blobs and snapshots): a pull
        or load can skip downloading it."""
        chain = chain_ids([validate(d) for d in diff_ids])
        return all(
            self.blobs.has(d) and self.snapshotter.has_layer(c[7:])
            for d, c in zip(diff_ids, chain, strict=True)
        )

    def add_layer(
        self, tar: BinaryIO, parent_diff_ids: list[str], diff_id: str | None = None
    ) -> str:
        """Store a (possibly compressed) layer tar; ``diff_id``, when known (a pull), is
        verified.  The uncompressed tar becomes a blob first, then the snapshot is
        unpacked from that blob, unless the chain already has it (dedup)."""
        if len(parent_diff_ids) + 1 > MAX_LAYERS:
            raise max_depth_error(len(parent_diff_ids) + 1)
        chain = chain_ids([validate(d) for d in parent_diff_ids])
        parent_key = chain[-1][7:] if chain else None
        if parent_key is not None and not self.snapshotter.has_layer(parent_key):
            raise NotFound(f"parent layer {parent_diff_ids[-1]} not found")
        w = self.blobs.writer()
        try:
            stream, _ = decompress(tar)
            while chunk := stream.read(1 << 20):
                w.write(chunk)
        except CoveError:
            w.abort()
            raise
        except OSError as e:
            w.abort()
            if e.errno is not None:  # the store's own failure (a full disk), not the data's
                raise
            raise InvalidArgument(f"invalid layer: {e}") from e
        except (EOFError, ValueError) as e:  # a corrupt compressed stream
            w.abort()
            raise InvalidArgument(f"invalid layer: {e}") from e
        except BaseException:
            w.abort()
            raise
        digest = w.digest()
        had_blob = self.blobs.has(digest)
        digest = w.commit(diff_id)
        self._unpack(digest, parent_diff_ids, parent_key, had_blob)
        return digest

    def add_layer_file(self, path: str, parent_diff_ids: list[str], diff_id: str) -> str:
        """``add_layer`` for an uncompressed layer tar the caller spooled to ``path`` (on
        the store's filesystem) while hashing it to ``diff_id``: the file is moved into the
        blob store instead of copied."""
        if len(parent_diff_ids) + 1 > MAX_LAYERS:
            raise max_depth_error(len(parent_diff_ids) + 1)
        chain = chain_ids([validate(d) for d in parent_diff_ids])
        parent_key = chain[-1][7:] if chain else None
        if parent_key is not None and not self.snapshotter.has_layer(parent_key):
            raise NotFound(f"parent layer {parent_diff_ids[-1]} not found")
        had_blob = self.blobs.has(diff_id)
        adopt = getattr(self.blobs, "adopt", None)
        if had_blob:
            pass
        elif adopt is not None:
            adopt(path, validate(diff_id))
        else:
            with open(path, "rb") as f:
                return self.add_layer(f, parent_diff_ids, diff_id)
        self._unpack(diff_id, parent_diff_ids, parent_key, had_blob)
        return diff_id

    def _unpack(
        self, digest: str, parent_diff_ids: list[str], parent_key: str | None, had_blob: bool
    ) -> None:
        key = chain_ids([*parent_diff_ids, digest])[-1][7:]
        try:
            if not self.snapshotter.has_layer(key):
                with self.blobs.open(digest) as f:
                    self.snapshotter.apply_layer(key, parent_key, f)
        except BaseException:
            if not had_blob and not self._blob_in_use(digest):
                self.blobs.delete(digest)
            raise

    def create(self, config: dict[str, Any]) -> Image:
        """Record an image from a config dict (serialised compactly: its ID is the digest
        of those bytes)."""
        return self.create_raw(json.dumps(config, separators=(",", ":")).encode())

    def has_image(self, image_id: str) -> bool:
        with self._lock:
            return image_id in self._records

    def transaction(self) -> ImageTxn:
        """An all-or-nothing group of new images and names (see ``cove.image.txn``)."""
        return ImageTxn(self)

    def create_raw(self, raw: bytes, parent: str | None = None) -> Image:
        """Record an image from its exact config bytes (a pull or load keeps the ID);
        ``parent`` is the image it was committed or built on (Docker's local parent)."""
        try:
            config = json.loads(raw)
            diff_ids = [validate(d) for d in config["rootfs"]["diff_ids"]]
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidArgument(f"invalid image config: {e}") from e
        if len(diff_ids) > MAX_LAYERS:
            raise max_depth_error(len(diff_ids))
        layers: list[dict[str, Any]] = []
        for d, c in zip(diff_ids, chain_ids(diff_ids), strict=True):
            if not self.blobs.has(d) or not self.snapshotter.has_layer(c[7:]):
                raise NotFound(f"layer {d} does not exist")
            layers.append({"chain": c[7:], "size": self.snapshotter.layer_size(c[7:])})
        with self._lock:
            image_id = self.blobs.put(raw)
            if image_id not in self._records:
                rec = {
                    "config": image_id,
                    "added": _now(),
                    "layers": layers,
                    "size": sum(x["size"] for x in layers),
                }
                if parent is not None and parent in self._records:
                    rec["parent"] = parent
                atomic_write_json(self._record_path(image_id), rec, 0o600)
                self._records[image_id] = rec
            self._configs[image_id] = config
            return self._image(image_id)

    # --- names ----------------------------------------------------------------------------
    def tag(self, image_id: str, ref: str) -> None:
        r = reference.parse(ref)
        if r.digest:
            raise InvalidArgument("refusing to create a tag with a digest reference")
        with self._lock:
            with self._names_change():
                target = self._names[str(r)] = self._resolve_id(image_id)
            self._stamp_tagged([target])

    def _stamp_tagged(self, image_ids: list[str]) -> None:
        """Remember when a name was last given to each image: dockerd's LastTagTime, which
        compose's `images` shows.  The name is already saved: a record that cannot be
        rewritten (a full disk) keeps its old time rather than failing the tag."""
        now = _now()
        for image_id in dict.fromkeys(image_ids):
            rec = self._records[image_id]
            rec["last_tag"] = now
            with contextlib.suppress(OSError):
                atomic_write_json(self._record_path(image_id), rec, 0o600)

    def last_tagged(self, image_id: str) -> str | None:
        with self._lock:
            rec = self._records.get(image_id) or {}
            return str(rec["last_tag"]) if "last_tag" in rec else None

    def tag_many(self, names: list[tuple[str, str]]) -> list[tuple[str, str, str | None]]:
        """Several names at once (one write); returns (familiar reference, image ID, the
        ID the name pointed at before or None)."""
        out: list[tuple[str, str, str | None]] = []
        with self._lock:
            with self._names_change():
                for image_id, ref in names:
                    r = reference.parse(ref)
                    if r.digest:
                        raise InvalidArgument("refusing to create a tag with a digest reference")
                    target = self._resolve_id(image_id)
                    old = self._names.get(str(r))
                    self._names[str(r)] = target
                    out.append((r.familiar(), target, old if old != target else None))
            self._stamp_tagged([target for _, target, _ in out])
        return out

    def add_repo_digest(self, image_id: str, ref: str) -> None:
        """Remember ``repo@sha256:...`` (the manifest digest of a pull) for an image."""
        r = reference.parse(ref, default_tag=None)
        if not r.digest:
            raise InvalidArgument(f"not a digest reference: {ref}")
        with self._lock, self._names_change():
            self._names[str(reference.Reference(r.domain, r.path, None, r.digest))] = (
                self._resolve_id(image_id)
            )

    def untag(self, ref: str) -> str:
        try:
            key = str(reference.parse(ref))
        except InvalidArgument:
            raise no_such_image(ref) from None
        with self._lock, self._names_change():
            if key not in self._names:
                raise no_such_image(ref)
            return self._names.pop(key)

    # --- removal --------------------------------------------------------------------------
    def delete(self, image_id: str) -> list[str]:
        """Remove the record (and any name still on it), then the config blob and the layers
        (snapshots and layer blobs) that no other image's chain contains."""
        with self._lock:
            image_id = self._resolve_id(image_id)
            chain = [x["chain"] for x in self._records[image_id]["layers"]]
            diff_ids = self._diff_ids(image_id)
            if any(v == image_id for v in self._names.values()):
                with self._names_change():
                    self._names = {k: v for k, v in self._names.items() if v != image_id}
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._record_path(image_id))
            fsync_dir(self.records_dir)
            del self._records[image_id]
            self._configs.pop(image_id, None)
            keys, used = self._referenced()
            if image_id not in used:
                self.blobs.delete(image_id)
            for key, diff in reversed(list(zip(chain, diff_ids, strict=False))):
                if key in keys:
                    break  # shared: every layer below is in the other chain too
                try:
                    self.snapshotter.remove_layer(key)
                except Conflict:
                    break  # a container (or a layer being added) stands on it
                if diff not in used:
                    self.blobs.delete(diff)
            return [image_id]

    def delete_if_unnamed(self, image_id: str) -> bool:
        """Remove an image no name points at (an aborted transaction's)."""
        with self._lock:
            if image_id not in self._records or image_id in self._names.values():
                return False
            self.delete(image_id)
            return True

    def parent(self, image_id: str) -> str | None:
        with self._lock:
            rec = self._records.get(image_id) or {}
            p = rec.get("parent")
            return p if isinstance(p, str) and p in self._records else None

    def children(self, image_id: str) -> list[str]:
        with self._lock:
            return [i for i, r in self._records.items() if r.get("parent") == image_id]

    def recover(self) -> int:
        """Roll back transactions a crash interrupted (see ``cove.image.txn``)."""
        n = 0
        with self._lock:
            for path, ids in leftover_journals(self.dir):
                for image_id in reversed(ids):
                    with contextlib.suppress(CoveError):
                        n += self.delete_if_unnamed(image_id)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        return n

    # --- pins: blobs kept without an image (manifests, compressed layers) -----------------
    def _pins(self) -> dict[str, list[str]]:
        try:
            data = read_json(self.pins_path)
        except (FileNotFoundError, ValueError):
            return {}
        return {k: list(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def pin(self, digest: str, owner: str) -> None:
        """Keep blob ``digest`` through gc until ``owner`` unpins it."""
        validate(digest)
        with self._lock:
            pins = self._pins()
            if owner not in pins.setdefault(digest, []):
                pins[digest].append(owner)
                atomic_write_json(self.pins_path, pins, 0o600)

    def unpin(self, digest: str, owner: str) -> None:
        with self._lock:
            pins = self._pins()
            owners = [o for o in pins.get(digest, []) if o != owner]
            if owners:
                pins[digest] = owners
            else:
                pins.pop(digest, None)
            atomic_write_json(self.pins_path, pins, 0o600)

    def _referenced(self) -> tuple[set[str], set[str]]:
        keys: set[str] = set()
        blobs: set[str] = set()
        for image_id, rec in self._records.items():
            blobs.add(image_id)
            keys.update(x["chain"] for x in rec["layers"])
            blobs.update(self._diff_ids(image_id))
        return keys, blobs

    def _diff_ids(self, image_id: str) -> list[str]:
        config = self._configs.get(image_id)
        if config is None:
            try:
                config = json.loads(self.blobs.read(image_id))
            except (NotFound, ValueError):
                return []
            self._configs[image_id] = config
        return list(config.get("rootfs", {}).get("diff_ids", []))

    def _blob_in_use(self, digest: str) -> bool:
        with self._lock:
            return digest in self._referenced()[1]

    def gc(self, keep: Iterable[str] = ()) -> dict[str, int]:
        """Remove what no image references: snapshots, blobs (except ``keep``), ingest
        leftovers and temp directories.  Run when nothing else is importing."""
        with self._lock:
            stats = {"ingest": self.blobs.gc_ingest(), "temp": self.snapshotter.cleanup()}
            keys, blobs = self._referenced()
            blobs.update(keep)
            blobs.update(self._pins())
            pending = [k for k in self.snapshotter.layer_keys() if k not in keys]
            removed = 0
            while pending:
                left = []
                for k in pending:
                    try:
                        self.snapshotter.remove_layer(k)
                        removed += 1
                    except Conflict:
                        left.append(k)
                if len(left) == len(pending):
                    break  # the rest carry containers
                pending = left
            stats["layers"] = removed
            stale = [d for d in self.blobs.list() if d not in blobs]
            for d in stale:
                self.blobs.delete(d)
            stats["blobs"] = len(stale)
            return stats

    # Last: a method named ``list`` would shadow the builtin in later annotations.
    def list(self) -> list[Image]:
        with self._lock:
            return [self._image(i) for i in sorted(self._records)]
