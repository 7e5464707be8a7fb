"""Pull: manifest (through mirrors), config, layers downloaded in parallel, applied in order.

Every blob is streamed into the content store's ingest area and becomes visible only after
its digest and size match the manifest (a mismatch discards it and fails the pull, nothing
stored).  An interrupted transfer resumes with ``Range`` where the registry allows it.
Layers are unpacked in chain order as soon as their download is done, while later ones are
still downloading; the image record and its name are written last, so a failed pull leaves
at most unreferenced layers that the store's gc collects.
"""

from __future__ import annotations

import hashlib
import http.client
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO

from cove.distribution.registry import auth
from cove.distribution.registry.endpoints import RegistryConfig
from cove.distribution.registry.errors import (
    RegistryDenied,
    RegistryError,
    RegistryNotFound,
    RegistryUnauthorized,
)
from cove.distribution.registry.manifest import (
    ACCEPT,
    FOREIGN,
    INDEXES,
    Descriptor,
    Manifest,
    media_type_of,
    parse_manifest,
    parse_platform,
    select_platform,
)
from cove.distribution.registry.meta import LayerMetadata
from cove.distribution.registry.progress import Reporter, short
from cove.distribution.registry.session import Session
from cove.errors import CoveError, InvalidArgument, NotFound, Unavailable
from cove.image.base import ImageStore
from cove.oci.reference import Reference
from cove.store.base import BlobStore
from cove.util.queueio import ReadAhead

Progress = Callable[[dict[str, Any]], None]
_RETRIES = 5


@dataclass
class PullResult:
    image_id: str
    digest: str  # the manifest's digest (index's, when the tag named an index)
    fresh: bool  # the name moved (Docker's "Downloaded newer image")


def open_session(
    cfg: RegistryConfig, ref: Reference, creds: auth.Credentials, actions: str = "pull"
) -> tuple[Session, bytes, str, str]:
    """Find an endpoint that serves the manifest: mirrors in order, then the registry.
    Returns (session, manifest bytes, media type, digest)."""
    endpoints = cfg.endpoints(ref.domain)
    last: Exception | None = None
    for ep in endpoints:
        sess = Session(ep, ref.path, creds if not ep.mirror else auth.ANONYMOUS, actions)
        try:
            raw, mt, digest = fetch_manifest(sess, ref.digest or ref.tag or "latest")
            return sess, raw, mt, digest
        except (RegistryError, Unavailable, NotFound) as e:
            sess.close()
            last = e
            if not ep.mirror:
                raise _pull_error(ref, e) from None
    assert last is not None
    raise last


def _pull_error(ref: Reference, e: Exception) -> Exception:
    """dockerd's wording and category: refused access reads as "not found" (404), so the
    docker CLI does not answer it with a login prompt."""
    name = ref.familiar_repository
    if isinstance(e, RegistryNotFound) and e.code in ("MANIFEST_UNKNOWN", "NOT_FOUND", ""):
        return RegistryNotFound(f"manifest for {ref.familiar()} not found: {e}", e.status, e.code)
    if isinstance(e, RegistryNotFound) and e.code == "NAME_UNKNOWN":
        return RegistryNotFound(f"repository {name} not found: {e}", e.status, e.code)
    if isinstance(e, RegistryUnauthorized | RegistryDenied):
        return RegistryNotFound(
            f"pull access denied for {name}, repository does not exist or may require "
            f"'docker login': {e}",
            e.status,
            e.code,
        )
    return e


def fetch_manifest(sess: Session, ident: str) -> tuple[bytes, str, str]:
    resp = sess.request("GET", f"manifests/{ident}", {"Accept": ACCEPT})
    raw = resp.read()
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    if ident.startswith("sha256:") and digest != ident:
        raise InvalidArgument(f"manifest verification failed for digest {ident}")
    return raw, media_type_of(raw, resp.headers.get("Content-Type", "")), digest


def small_blob(sess: Session, d: Descriptor) -> bytes:
    """A config blob, read whole and verified."""
    if d.size > 32 << 20:
        raise InvalidArgument(f"config blob {d.digest} too large: {d.size} bytes")
    data = sess.request("GET", f"blobs/{d.digest}").read()
    if len(data) != d.size or "sha256:" + hashlib.sha256(data).hexdigest() != d.digest:
        raise InvalidArgument(f"filesystem layer verification failed for digest {d.digest}")
    return data


def list_tags(sess: Session) -> list[str]:
    data = sess.json("GET", "tags/list")
    return [str(t) for t in (data or {}).get("tags") or []]


def repository_tags(cfg: RegistryConfig, ref: Reference, creds: auth.Credentials) -> list[str]:
    """Every tag of ``ref``'s repository (``pull --all-tags``), through the mirrors."""
    last: Exception | None = None
    for ep in cfg.endpoints(ref.domain):
        sess = Session(ep, ref.path, creds if not ep.mirror else auth.ANONYMOUS)
        try:
            return list_tags(sess)
        except (RegistryError, Unavailable, NotFound) as e:
            last = e
            if not ep.mirror:
                raise _pull_error(ref, e) from None
        finally:
            sess.close()
    assert last is not None
    raise last


class Puller:
    def __init__(
        self,
        cfg: RegistryConfig,
        images: ImageStore,
        blobs: BlobStore,
        meta: LayerMetadata | None,
        progress: Progress,
    ) -> None:
        self.cfg = cfg
        self.images = images
        self.blobs = blobs
        self.meta = meta
        self.report = Reporter(progress)

    def pull(
        self, ref: Reference, creds: auth.Credentials, platform: str | None = None
    ) -> PullResult:
        want = parse_platform(platform)
        sess, raw, mt, digest = open_session(self.cfg, ref, creds)
        try:
            # dockerd names a digest pull by its whole reference, a tag pull by the tag
            shown = ref.tag or (ref.familiar() if ref.digest else "latest")
            self.report.status(f"Pulling from {ref.path}", shown)
            top = digest
            if mt in INDEXES:
                d = select_platform(raw, want, str(ref))
                raw, mt, digest = fetch_manifest(sess, d.digest)
            return self._pull_manifest(sess, ref, raw, top, want)
        finally:
            sess.close()

    def _pull_manifest(
        self, sess: Session, ref: Reference, raw: bytes, digest: str, want: tuple[str, str, str]
    ) -> PullResult:
        m = parse_manifest(raw)
        try:  # an image already here is named, not fetched again (no layer lines, as dockerd)
            image_id = self.images.resolve(m.config.digest).id
        except NotFound:
            image_id = self._fetch(sess, ref, m)
        self.report.status(f"Digest: {digest}")
        # "Downloaded newer image" when the name (tag or digest reference) moved or is new
        name = str(ref)
        try:
            fresh = self.images.resolve(name).id != image_id
        except NotFound:
            fresh = True
        if ref.tag:
            self.images.tag(image_id, name)
        self.images.add_repo_digest(image_id, f"{ref.repository}@{digest}")
        return PullResult(image_id, digest, fresh)

    def _fetch(self, sess: Session, ref: Reference, m: Manifest) -> str:
        """The config and the missing layers of ``m``; the new image's ID."""
        config_raw = self._small_blob(sess, m.config)
        config = json.loads(config_raw)
        diff_ids = list(config.get("rootfs", {}).get("diff_ids") or [])
        layers = [x for x in m.layers if x.media_type not in FOREIGN]
        if len(diff_ids) != len(layers):
            raise InvalidArgument("invalid image: the config's diff_ids do not match its layers")
        has = getattr(self.images, "has_layers", None)
        present = 0
        while present < len(layers) and has is not None and has(diff_ids[: present + 1]):
            present += 1
        for d in layers[:present]:
            self.report.status("Already exists", short(d.digest), {})
        todo = layers[present:]
        for d in todo:
            self.report.status("Pulling fs layer", short(d.digest), {})
        # The first missing layer is streamed straight into the layer store (hashed on the
        # way, verified at its end); the others download to the ingest area meanwhile and
        # are applied from there in order.
        with ThreadPoolExecutor(max(1, self.cfg.max_downloads)) as pool:
            futures: list[Future[bool]] = [pool.submit(self._download, sess, d) for d in todo[1:]]
            try:
                for i, d in enumerate(todo):
                    n = present + i
                    if i == 0:
                        self._stream_apply(sess, d, diff_ids[:n], diff_ids[n])
                    else:
                        created = futures[i - 1].result()
                        self._apply(d, diff_ids[:n], diff_ids[n], created)
                    if self.meta is not None:
                        self.meta.add(diff_ids[n], d.digest, d.size, d.media_type, ref.repository)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        return self.images.create_raw(config_raw).id

    def _small_blob(self, sess: Session, d: Descriptor) -> bytes:
        return small_blob(sess, d)

    def _download(self, sess: Session, d: Descriptor) -> bool:
        """Fetch one blob into the store; True when it was not there before."""
        ident = short(d.digest)
        had = self.blobs.has(d.digest)  # kept by an earlier push: downloaded and checked anyway
        w = self.blobs.writer()
        try:
            got = 0
            tries = 0
            while True:
                headers = {"Range": f"bytes={got}-"} if got else {}
                try:
                    resp = sess.request("GET", f"blobs/{d.digest}", headers, ok=(200, 206))
                    if got and resp.status == 200:  # the registry ignored Range: start over
                        w.abort()
                        w = self.blobs.writer()
                        got = 0
                    while chunk := resp.read(1 << 20):
                        w.write(chunk)
                        got += len(chunk)
                        if got > d.size:
                            raise InvalidArgument(
                                f"filesystem layer verification failed for digest {d.digest}"
                            )
                        self.report.bytes("Downloading", ident, got, d.size)
                    if got < d.size:
                        raise http.client.IncompleteRead(b"", d.size - got)
                    break
                except (OSError, http.client.HTTPException, Unavailable) as e:
                    tries += 1
                    if tries > _RETRIES:
                        raise
                    self.report.status(f"Retrying after {type(e).__name__}", ident)
                    sess.close()
            self.report.status("Verifying Checksum", ident, {})
            try:
                w.commit(d.digest, d.size)
            except InvalidArgument:
                raise InvalidArgument(
                    f"filesystem layer verification failed for digest {d.digest}"
                ) from None
        except BaseException:
            w.abort()
            raise
        self.report.status("Download complete", ident, {})
        return not had

    def _stream_apply(self, sess: Session, d: Descriptor, parents: list[str], diff_id: str) -> None:
        ident = short(d.digest)
        fetch = _Fetch(sess, d, self.report)
        # the socket reads and the compressed digest run a step ahead, on the other core,
        # while this thread inflates, hashes and writes
        ahead = ReadAhead(fetch)
        try:
            self.images.add_layer(ahead, parents, diff_id)  # type: ignore[arg-type]
        except Exception:
            ahead.close()
            # a corrupt blob usually breaks the decompressor first: say what Docker says
            fetch.finish()
            raise
        ahead.close()
        fetch.finish()  # a decompressor that stopped early: the digest is still checked
        self.report.status("Download complete", ident, {})
        self.report.status("Pull complete", ident, {})

    def _apply(self, d: Descriptor, parents: list[str], diff_id: str, created: bool) -> None:
        ident = short(d.digest)
        try:
            with self.blobs.open(d.digest) as f:
                reader = _Counting(f, lambda n: self.report.bytes("Extracting", ident, n, d.size))
                self.images.add_layer(reader, parents, diff_id)  # type: ignore[arg-type]
        except InvalidArgument as e:
            if "digest mismatch" in str(e):
                raise InvalidArgument(f"failed to register layer: {e}") from None
            raise
        except CoveError:
            raise
        finally:
            if created and d.digest != diff_id:
                self.blobs.delete(d.digest)  # the unpacked tar is kept under its diff ID
        self.report.status("Pull complete", ident, {})


class _Counting:
    """A read-only file wrapper that reports how far the reader got."""

    def __init__(self, f: BinaryIO, cb: Callable[[int], None]) -> None:
        self._f = f
        self._cb = cb
        self._n = 0

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._n += len(data)
        self._cb(self._n)
        return data

    def readinto(self, b: Any) -> int:
        n = self._f.readinto(b)  # type: ignore[attr-defined]
        self._n += n or 0
        self._cb(self._n)
        return int(n or 0)

    def readable(self) -> bool:
        return True


class _Fetch:
    """A blob read straight from the registry: hashed as it goes, resumed with ``Range``
    after a broken connection, and checked (digest and size) when its end is reached, so
    a reader that consumes it to the end fails before committing anything bad."""

    def __init__(self, sess: Session, d: Descriptor, report: Reporter) -> None:
        self.sess = sess
        self.d = d
        self.report = report
        self.ident = short(d.digest)
        self.got = 0
        self.hash = hashlib.sha256()
        self.resp: http.client.HTTPResponse | None = None
        self.tries = 0
        self.verified = False

    def _bad(self) -> InvalidArgument:
        return InvalidArgument(f"filesystem layer verification failed for digest {self.d.digest}")

    def _open(self) -> http.client.HTTPResponse:
        headers = {"Range": f"bytes={self.got}-"} if self.got else {}
        resp = self.sess.request("GET", f"blobs/{self.d.digest}", headers, ok=(200, 206))
        if self.got and resp.status != 206:
            resp.close()
            raise Unavailable(f"cannot resume {self.d.digest}: the registry ignored Range")
        return resp

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            parts = []
            while chunk := self._read(1 << 20):
                parts.append(chunk)
            return b"".join(parts)
        return self._read(n)

    def _read(self, n: int) -> bytes:
        while not self.verified:
            try:
                if self.resp is None:
                    self.resp = self._open()
                data = self.resp.read(n or 1 << 20)
                if not data and self.got < self.d.size:
                    raise http.client.IncompleteRead(b"", self.d.size - self.got)
            except (OSError, http.client.HTTPException, Unavailable) as e:
                self.tries += 1
                if self.tries > _RETRIES:
                    raise
                self.report.status(f"Retrying after {type(e).__name__}", self.ident)
                self.resp = None
                self.sess.close()
                continue
            if not data:
                self._verify()
                return b""
            self.got += len(data)
            if self.got > self.d.size:
                raise self._bad()
            self.hash.update(data)
            self.report.bytes("Downloading", self.ident, self.got, self.d.size)
            return data
        return b""

    def readable(self) -> bool:
        return True

    def _verify(self) -> None:
        if self.got != self.d.size or "sha256:" + self.hash.hexdigest() != self.d.digest:
            raise self._bad()
        self.verified = True
        if self.resp is not None:
            self.resp.close()

    def finish(self) -> None:
        while not self.verified:
            self.read()
