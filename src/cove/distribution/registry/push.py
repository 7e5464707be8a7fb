"""Push: layers (skipped when present, mounted across repositories, else uploaded), config,
then the manifest by tag.

Layers are stored uncompressed (under their diff IDs); a push sends each as a gzip blob.  A
layer this daemon pulled or pushed before is looked up in the layer metadata first: a HEAD
on the target repository finds it already there, or a cross-repository mount from the
repository it came from (same registry) saves the upload.  Uploads run in parallel
(``max-concurrent-uploads``); the manifest goes last, so a failed push names nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cove.distribution.registry import auth, upload
from cove.distribution.registry.endpoints import RegistryConfig
from cove.distribution.registry.errors import RegistryError, RegistryNotFound
from cove.distribution.registry.manifest import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    Descriptor,
    schema2,
)
from cove.distribution.registry.meta import LayerMetadata
from cove.distribution.registry.progress import Reporter, short
from cove.distribution.registry.session import Session
from cove.image.base import Image
from cove.oci.reference import Reference, parse
from cove.store.base import BlobStore

Progress = Callable[[dict[str, Any]], None]


class Pusher:
    def __init__(
        self,
        cfg: RegistryConfig,
        blobs: BlobStore,
        meta: LayerMetadata | None,
        progress: Progress,
        chunk_size: int | None = None,
    ) -> None:
        self.cfg = cfg
        self.blobs = blobs
        self.meta = meta
        self.report = Reporter(progress)
        self.chunk_size = chunk_size

    def session(self, ref: Reference, creds: auth.Credentials) -> Session:
        ep = self.cfg.endpoints(ref.domain)[-1]  # never a mirror
        return Session(ep, ref.path, creds, "pull,push")

    def push(self, sess: Session, ref: Reference, img: Image) -> tuple[str, int]:
        """Push ``img`` as ``ref`` (a tag); returns (manifest digest, manifest size)."""
        diff_ids = img.diff_ids
        for d in diff_ids:
            self.report.status("Preparing", short(d), {})
        with ThreadPoolExecutor(max(1, self.cfg.max_uploads)) as pool:
            futs = [pool.submit(self._layer, sess, ref, d) for d in diff_ids]
            layers = [f.result() for f in futs]
        config_raw = self.blobs.read(img.id)
        config = Descriptor(DOCKER_CONFIG, img.id, len(config_raw))
        if not self._exists(sess, img.id):
            with self.blobs.open(img.id) as f:
                upload.push_blob(sess, f, config.size, img.id)
        raw = schema2(config, layers)
        tag = ref.tag or "latest"
        resp = sess.request(
            "PUT", f"manifests/{tag}", {"Content-Type": DOCKER_MANIFEST}, raw, ok=(201, 200, 202)
        )
        resp.read()
        import hashlib

        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        self.report.status(f"{tag}: digest: {digest} size: {len(raw)}")
        self.report.aux({"Tag": tag, "Digest": digest, "Size": len(raw)})
        return digest, len(raw)

    def _exists(self, sess: Session, digest: str) -> bool:
        try:
            sess.request("HEAD", f"blobs/{digest}", ok=(200,)).read()
            return True
        except RegistryNotFound:
            return False

    def _layer(self, sess: Session, ref: Reference, diff_id: str) -> Descriptor:
        ident = short(diff_id)
        known = self.meta.get(diff_id) if self.meta is not None else []
        same_host = [k for k in known if parse(k["repo"]).domain == ref.domain]
        for k in same_host:
            if self._exists(sess, k["digest"]):
                self.report.status("Layer already exists", ident, {})
                return Descriptor(k["mediaType"] or DOCKER_LAYER_GZIP, k["digest"], int(k["size"]))
        location = None
        for k in same_host:
            src = parse(k["repo"])
            if src.path == ref.path:
                continue
            sess.add_scope(f"repository:{src.path}:pull")
            try:
                status, location = upload.start(sess, {"mount": k["digest"], "from": src.path})
            except RegistryError:
                continue
            if status == 201:
                self.report.status(f"Mounted from {src.path}", ident, {})
                return Descriptor(k["mediaType"] or DOCKER_LAYER_GZIP, k["digest"], int(k["size"]))
            break  # 202: the registry opened a normal upload instead; use it
        digest, size, media_type = self._compressed(diff_id, known)
        if self._exists(sess, digest):
            self.report.status("Layer already exists", ident, {})
        else:
            with self.blobs.open(digest) as f:
                upload.push_blob(
                    sess,
                    f,
                    size,
                    digest,
                    lambda n: self.report.bytes("Pushing", ident, n, size),
                    self.chunk_size,
                    location,
                )
            self.report.status("Pushed", ident, {})
        if self.meta is not None:
            self.meta.add(diff_id, digest, size, media_type, ref.repository)
        return Descriptor(media_type, digest, size)

    def _compressed(self, diff_id: str, known: list[dict[str, Any]]) -> tuple[str, int, str]:
        """A compressed blob for the layer: one this daemon already holds (from an earlier
        push), else the layer compressed now and kept in the content store, so the next
        push of it to any registry sends the same bytes without compressing again."""
        for k in known:
            if self.blobs.has(k["digest"]) and self.blobs.size(k["digest"]) == int(k["size"]):
                return k["digest"], int(k["size"]), k["mediaType"] or DOCKER_LAYER_GZIP
        w = self.blobs.writer()
        try:
            with self.blobs.open(diff_id) as src:
                size = upload.gzip_layer(src, w.write)
            digest = w.commit(None, size)
        except BaseException:
            w.abort()
            raise
        return digest, size, DOCKER_LAYER_GZIP


def manifest_json(raw: bytes) -> Any:
    return json.loads(raw)
