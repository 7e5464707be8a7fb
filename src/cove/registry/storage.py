"""The registry's storage: blobs in a content store, repositories as link directories.

Layout under the root::

    blobs/sha256/<hex>                          every blob and manifest, verified on the way in
    ingest/                                     the content store's temp files
    uploads/<uuid>                              an upload in progress (bytes so far)
    repositories/<name>/_layers/<hex>           the blob is part of this repository
    repositories/<name>/_manifests/revisions/<hex>   a manifest (file holds its media type)
    repositories/<name>/_manifests/tags/<tag>   the digest the tag points at

Blobs become visible only once verified (the content store's contract); links are written
after their blob, atomically, so a crash leaves at most an unreferenced blob for ``gc``.
Names and tags are checked against the spec's grammar before they become paths.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import uuid
from typing import Any

from cove.errors import InvalidArgument, NotFound
from cove.oci.digest import hex_of, validate
from cove.store.local import LocalBlobStore
from cove.util.fs import atomic_write, fsync_dir, makedirs

NAME = re.compile(
    r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$"
)
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_UUID = re.compile(r"^[0-9a-f]{32}$")


class Upload:
    """An upload in progress: the file and, while chunks arrive in order, a running hash."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.hash: Any = None
        self.hashed = 0


class Storage:
    def __init__(self, root: str) -> None:
        self.root = makedirs(root, 0o700)
        self.blobs = LocalBlobStore(root)
        self.uploads_dir = makedirs(os.path.join(root, "uploads"), 0o700)
        self.repos_dir = makedirs(os.path.join(root, "repositories"), 0o700)
        self._uploads: dict[str, Upload] = {}

    # --- names ----------------------------------------------------------------------------
    @staticmethod
    def NAME_OK(name: str) -> bool:
        return len(name) <= 255 and bool(NAME.match(name))

    @staticmethod
    def check_name(name: str) -> str:
        if len(name) > 255 or not NAME.match(name):
            raise InvalidArgument(f"invalid repository name: {name}")
        return name

    def _repo(self, name: str) -> str:
        return os.path.join(self.repos_dir, self.check_name(name))

    def _link(self, path: str, data: bytes = b"") -> None:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        atomic_write(path, data, 0o600, sync=False)

    # --- blobs ----------------------------------------------------------------------------
    def has_blob(self, name: str, digest: str) -> bool:
        p = os.path.join(self._repo(name), "_layers", hex_of(validate(digest)))
        return os.path.exists(p) and self.blobs.has(digest)

    def link_blob(self, name: str, digest: str) -> None:
        self._link(os.path.join(self._repo(name), "_layers", hex_of(validate(digest))))

    def unlink_blob(self, name: str, digest: str) -> bool:
        p = os.path.join(self._repo(name), "_layers", hex_of(validate(digest)))
        try:
            os.unlink(p)
            return True
        except FileNotFoundError:
            return False

    # --- uploads --------------------------------------------------------------------------
    def new_upload(self) -> str:
        u = uuid.uuid4().hex
        path = os.path.join(self.uploads_dir, u)
        with open(path, "wb"):
            pass
        up = Upload(path)
        up.hash = hashlib.sha256()
        self._uploads[u] = up
        return u

    def upload(self, u: str) -> Upload:
        if not _UUID.match(u):
            raise NotFound("upload unknown")
        up = self._uploads.get(u)
        path = os.path.join(self.uploads_dir, u)
        if not os.path.exists(path):
            raise NotFound("upload unknown")
        if up is None:
            up = self._uploads[u] = Upload(path)
        return up

    def upload_size(self, u: str) -> int:
        return os.path.getsize(self.upload(u).path)

    def append(self, up: Upload, data: bytes, fh: Any) -> None:
        fh.write(data)
        if up.hash is not None:
            up.hash.update(data)
            up.hashed += len(data)

    def finish_upload(self, name: str, u: str, digest: str) -> str:
        """Verify the upload against ``digest``, publish it and link it to ``name``."""
        up = self.upload(u)
        digest = validate(digest)
        size = os.path.getsize(up.path)
        if up.hash is not None and up.hashed == size:
            actual = "sha256:" + up.hash.hexdigest()
        else:
            h = hashlib.sha256()
            with open(up.path, "rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
            actual = "sha256:" + h.hexdigest()
        if actual != digest:
            self.cancel_upload(u)
            raise InvalidArgument(f"digest did not match: {digest} != {actual}")
        final = self.blobs.path(digest)
        if os.path.exists(final):
            os.unlink(up.path)
        else:
            with open(up.path, "rb") as f:
                os.fsync(f.fileno())
            os.chmod(up.path, 0o444)
            os.replace(up.path, final)
            fsync_dir(os.path.dirname(final))
        self._uploads.pop(u, None)
        self.link_blob(name, digest)
        return digest

    def cancel_upload(self, u: str) -> None:
        self._uploads.pop(u, None)
        with contextlib.suppress(FileNotFoundError, InvalidArgument):
            os.unlink(os.path.join(self.uploads_dir, u))

    # --- manifests and tags ---------------------------------------------------------------
    def put_manifest(self, name: str, data: bytes, media_type: str) -> str:
        digest = self.blobs.put(data)
        self.link_blob(name, digest)
        rev = os.path.join(self._repo(name), "_manifests", "revisions", hex_of(digest))
        self._link(rev, media_type.encode())
        return digest

    def tag(self, name: str, tag: str, digest: str) -> None:
        if not TAG.match(tag):
            raise InvalidArgument(f"invalid tag: {tag}")
        self._link(os.path.join(self._repo(name), "_manifests", "tags", tag), digest.encode())

    def resolve(self, name: str, ref: str) -> tuple[str, str]:
        """(digest, media type) of a manifest by tag or digest; NotFound otherwise."""
        repo = self._repo(name)
        if ":" in ref:
            digest = validate(ref)
        else:
            if not TAG.match(ref):
                raise InvalidArgument(f"invalid tag: {ref}")
            try:
                with open(os.path.join(repo, "_manifests", "tags", ref)) as f:
                    digest = validate(f.read().strip())
            except FileNotFoundError:
                raise NotFound("manifest unknown") from None
        try:
            with open(os.path.join(repo, "_manifests", "revisions", hex_of(digest))) as f:
                media_type = f.read().strip()
        except FileNotFoundError:
            raise NotFound("manifest unknown") from None
        if not self.blobs.has(digest):
            raise NotFound("manifest unknown")
        return digest, media_type

    def delete_manifest(self, name: str, ref: str) -> None:
        repo = self._repo(name)
        tags_dir = os.path.join(repo, "_manifests", "tags")
        if ":" not in ref:
            if not TAG.match(ref):  # never a path like ".." under tags/
                raise NotFound("manifest unknown")
            try:
                os.unlink(os.path.join(tags_dir, ref))
            except FileNotFoundError:
                raise NotFound("manifest unknown") from None
            return
        digest, _ = self.resolve(name, ref)
        for t in self.tags(name):
            with contextlib.suppress(OSError), open(os.path.join(tags_dir, t)) as f:
                if f.read().strip() == digest:
                    os.unlink(os.path.join(tags_dir, t))
        os.unlink(os.path.join(repo, "_manifests", "revisions", hex_of(digest)))

    def tags(self, name: str) -> list[str]:
        d = os.path.join(self._repo(name), "_manifests", "tags")
        try:
            return sorted(os.listdir(d))
        except FileNotFoundError:
            if not os.path.isdir(self._repo(name)):
                raise NotFound("repository name not known to registry") from None
            return []

    def repositories(self) -> list[str]:
        out = []
        for dirpath, dirnames, _ in os.walk(self.repos_dir):
            if "_manifests" in dirnames:
                out.append(os.path.relpath(dirpath, self.repos_dir))
            dirnames[:] = [d for d in dirnames if not d.startswith("_")]
        return sorted(out)

    def revisions(self, name: str) -> list[str]:
        d = os.path.join(self._repo(name), "_manifests", "revisions")
        try:
            return ["sha256:" + h for h in os.listdir(d) if len(h) == 64]
        except FileNotFoundError:
            return []

    def remove_repository(self, name: str) -> None:
        shutil.rmtree(self._repo(name), ignore_errors=True)
