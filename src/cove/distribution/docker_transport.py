"""The ``docker://`` transport: a registry repository as an ``ImageSource`` or an
``ImageDestination`` of the copy engine (``cove.distribution.copy``).

With these, any copy the engine knows works with a registry on either side: registry to
registry (as ``skopeo copy docker:// docker://``), registry to a docker-archive, an archive
to a registry.  The daemon's ``pull``/``push`` use the same client pieces
(``registry/pull.py``, ``registry/push.py``) directly, for what a one-layer-at-a-time copy
cannot give: parallel transfers, Docker's progress stream and the layer metadata used for
mounts.  Layer bytes are verified against the manifest as they stream (``_Fetch``); what a
destination uploads becomes a tag only at ``commit``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, BinaryIO

from cove.distribution.base import DOCKER_LAYER_GZIP, Layer, SourceImage
from cove.distribution.registry import auth, upload
from cove.distribution.registry.endpoints import RegistryConfig
from cove.distribution.registry.manifest import (
    DOCKER_CONFIG,
    DOCKER_MANIFEST,
    FOREIGN,
    INDEXES,
    Descriptor,
    parse_manifest,
    parse_platform,
    schema2,
    select_platform,
)
from cove.distribution.registry.progress import Reporter
from cove.distribution.registry.pull import _Fetch, fetch_manifest, open_session
from cove.distribution.registry.session import Session
from cove.errors import InvalidArgument
from cove.oci.reference import Reference, parse
from cove.store.base import BlobStore


class _Stream:
    """A ``_Fetch`` as a context manager (the copy engine closes what it opened)."""

    def __init__(self, fetch: _Fetch) -> None:
        self.fetch = fetch

    def read(self, n: int = -1) -> bytes:
        return self.fetch.read(n)

    def readable(self) -> bool:
        return True

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.fetch.finish()  # what was not read is still checked


class RegistrySource:
    def __init__(
        self,
        cfg: RegistryConfig,
        ref: str | Reference,
        creds: auth.Credentials = auth.ANONYMOUS,
        platform: str | None = None,
    ) -> None:
        self.cfg = cfg
        self.ref = parse(ref) if isinstance(ref, str) else ref
        self.creds = creds
        self.platform = platform
        self._sess: Session | None = None
        self._descs: dict[str, Descriptor] = {}

    def images(self) -> list[SourceImage]:
        sess, raw, mt, _ = open_session(self.cfg, self.ref, self.creds)
        self._sess = sess
        if mt in INDEXES:
            d = select_platform(raw, parse_platform(self.platform), str(self.ref))
            raw, mt, _ = fetch_manifest(sess, d.digest)
        m = parse_manifest(raw)
        config = sess.request("GET", f"blobs/{m.config.digest}").read()
        if "sha256:" + hashlib.sha256(config).hexdigest() != m.config.digest:
            raise InvalidArgument(f"manifest verification failed for digest {m.config.digest}")
        diff_ids = list(json.loads(config).get("rootfs", {}).get("diff_ids") or [])
        descs = [d for d in m.layers if d.media_type not in FOREIGN]
        if len(descs) != len(diff_ids):
            raise InvalidArgument("invalid image: the config's diff_ids do not match its layers")
        layers = []
        for d, diff in zip(descs, diff_ids, strict=True):
            self._descs[d.digest] = d
            layers.append(Layer(diff, d.digest, d.size, d.media_type))
        names = [str(self.ref)] if self.ref.tag else []
        return [SourceImage(config, layers, names, raw, mt)]

    def open_layer(self, image: SourceImage, layer: Layer) -> BinaryIO:
        if self._sess is None:
            raise InvalidArgument("images() must be called first")
        fetch = _Fetch(self._sess, self._descs[layer.digest], Reporter(lambda m: None))
        return _Stream(fetch)  # type: ignore[return-value]

    def close(self) -> None:
        if self._sess is not None:
            self._sess.close()


class _Hashing:
    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.hash = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.hash.update(data)
        return data


class RegistryDestination:
    """Uploads layers (gzip) and configs as they come; the manifest is put by tag at
    ``commit``.  ``staging`` holds each compressed layer until it is uploaded."""

    def __init__(
        self,
        cfg: RegistryConfig,
        ref: str | Reference,
        staging: BlobStore,
        creds: auth.Credentials = auth.ANONYMOUS,
    ) -> None:
        self.ref = parse(ref) if isinstance(ref, str) else ref
        ep = cfg.endpoints(self.ref.domain)[-1]
        self.sess = Session(ep, self.ref.path, creds, "pull,push")
        self.staging = staging
        self._layers: dict[str, Descriptor] = {}
        self._manifests: list[bytes] = []

    def has_layers(self, diff_ids: list[str]) -> bool:
        return False  # a registry is asked per blob, by digest, in put_layer

    def put_layer(
        self, image: SourceImage, layer: Layer, parents: list[str], data: BinaryIO
    ) -> str:
        from cove.archive.compression import decompress

        plain, _ = decompress(data)
        hashing = _Hashing(plain)
        w = self.staging.writer()
        try:
            size = upload.gzip_layer(hashing, w.write)  # type: ignore[arg-type]
            digest = w.commit(None, size)
        except BaseException:
            w.abort()
            raise
        diff_id = "sha256:" + hashing.hash.hexdigest()
        try:
            if diff_id != layer.diff_id:
                raise InvalidArgument(f"layer {layer.diff_id}: content has digest {diff_id}")
            if not self._exists(digest):
                with self.staging.open(digest) as f:
                    upload.push_blob(self.sess, f, size, digest)
        finally:
            self.staging.delete(digest)
        self._layers[diff_id] = Descriptor(DOCKER_LAYER_GZIP, digest, size)
        return diff_id

    def _exists(self, digest: str) -> bool:
        from cove.distribution.registry.errors import RegistryNotFound

        try:
            self.sess.request("HEAD", f"blobs/{digest}").read()
            return True
        except RegistryNotFound:
            return False

    def put_image(self, image: SourceImage) -> str:
        config_id = "sha256:" + hashlib.sha256(image.config).hexdigest()
        if not self._exists(config_id):
            import io

            upload.push_blob(self.sess, io.BytesIO(image.config), len(image.config), config_id)
        config = Descriptor(DOCKER_CONFIG, config_id, len(image.config))
        layers = [self._layers[x.diff_id] for x in image.layers]
        self._manifests.append(schema2(config, layers))
        return config_id

    def commit(self) -> None:
        tag = self.ref.tag or "latest"
        for raw in self._manifests[-1:]:
            headers: dict[str, Any] = {"Content-Type": DOCKER_MANIFEST}
            self.sess.request("PUT", f"manifests/{tag}", headers, raw, ok=(201, 200)).read()
        self.sess.close()

    def abort(self) -> None:
        self.sess.close()  # uploaded blobs stay unreferenced until the registry's gc
