"""The distribution-spec routes (``/v2/...``) and Docker Hub's search (``/v1/search``).

Errors are the spec's JSON (``{"errors": [{"code", "message", "detail"}]}``) with its
status codes; a digest mismatch discards the upload.  Auth, when configured, is checked
before any route runs (see ``auth.py``).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from cove.errors import InvalidArgument, NotFound
from cove.oci.digest import validate
from cove.registry.auth import Authorizer
from cove.registry.http import Request, Response, json_response
from cove.registry.storage import TAG, Storage

_ROUTE = re.compile(
    r"^/v2/(?P<name>.+?)/(?:(?P<uploads>blobs/uploads/?)(?P<uuid>[^/]*)|blobs/(?P<digest>[^/]+)"
    r"|manifests/(?P<ref>[^/]+)|(?P<tags>tags/list))$"
)
MAX_MANIFEST = 4 << 20
_IMAGE = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
_INDEX = (
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)


def _names_a_manifest(ref: str) -> bool:
    """A tag or a well-formed digest; anything else can name no manifest."""
    if ":" not in ref:
        return bool(TAG.match(ref))
    try:
        validate(ref)
    except InvalidArgument:
        return False
    return True


def error(status: int, code: str, message: str, detail: Any = None) -> Response:
    body = {"errors": [{"code": code, "message": message, "detail": detail}]}
    return json_response(status, body)


class Registry:
    def __init__(self, storage: Storage, authorizer: Authorizer | None = None) -> None:
        self.store = storage
        self.auth = authorizer

    async def handle(self, req: Request) -> Response:
        try:
            return await self._route(req)
        except InvalidArgument as e:
            code = "DIGEST_INVALID" if "digest" in str(e) else "NAME_INVALID"
            return error(400, code, str(e))
        except NotFound as e:
            return error(404, "BLOB_UNKNOWN", str(e))

    async def _route(self, req: Request) -> Response:
        if self.auth is not None and req.path == self.auth.token_path:
            return self.auth.issue(req)
        if req.path in ("/v2", "/v2/"):
            denied = self._check(req, "", "")
            return denied or json_response(200, {})
        if req.path == "/v2/_catalog":
            return self._check(req, "registry:catalog:*", "") or self.catalog(req)
        if req.path == "/v1/search":
            return self._check(req, "registry:catalog:*", "") or self.search(req)
        m = _ROUTE.match(req.path)
        if not m:
            return error(404, "NOT_FOUND", "page not found")
        name = m.group("name")
        if not Storage.NAME_OK(name):
            return error(400, "NAME_INVALID", "invalid repository name")
        action = "pull" if req.method in ("GET", "HEAD") else "push"
        if req.method == "DELETE":
            action = "delete"
        denied = self._check(req, f"repository:{name}:{action}", name)
        if denied:
            return denied
        if m.group("tags"):
            return self.tags(req, name)
        if m.group("ref"):
            return await self.manifest(req, name, m.group("ref"))
        if m.group("uploads") is not None:
            return await self.uploads(req, name, m.group("uuid"))
        return self.blob(req, name, m.group("digest"))

    def _check(self, req: Request, scope: str, name: str) -> Response | None:
        if self.auth is None:
            return None
        return self.auth.check(req, scope)

    # --- catalog, tags, search ------------------------------------------------------------
    def catalog(self, req: Request) -> Response:
        names = self.store.repositories()
        return self._page(req, names, "repositories", "/v2/_catalog", {})

    def tags(self, req: Request, name: str) -> Response:
        try:
            tags = self.store.tags(name)
        except NotFound:
            return error(
                404, "NAME_UNKNOWN", "repository name not known to registry", {"name": name}
            )
        return self._page(req, tags, "tags", f"/v2/{name}/tags/list", {"name": name})

    def _page(
        self, req: Request, items: list[str], key: str, path: str, extra: dict[str, Any]
    ) -> Response:
        last = req.arg("last")
        if last:
            items = [x for x in items if x > last]
        n = req.arg("n")
        headers: dict[str, str] = {}
        if n:
            count = int(n) if n.isdigit() else 100
            if count == 0:  # n=0 asks for an empty page (items[-1] below needs one)
                return json_response(200, {**extra, key: []})
            if len(items) > count:
                items = items[:count]
                headers["Link"] = f'<{path}?n={count}&last={items[-1]}>; rel="next"'
        return json_response(200, {**extra, key: items}, headers)

    def search(self, req: Request) -> Response:
        q = req.arg("q").lower()
        n = req.arg("n")
        limit = int(n) if n.isdigit() and int(n) > 0 else 25
        page = int(req.arg("page") or 1) if req.arg("page").isdigit() else 1
        hits = [r for r in self.store.repositories() if q in r.lower()]
        start = (page - 1) * limit
        results = [
            {
                "name": r,
                "description": "",
                "star_count": 0,
                "is_official": False,
                "is_automated": False,
                "is_trusted": False,
            }
            for r in hits[start : start + limit]
        ]
        pages = max(1, -(-len(hits) // limit))
        body = {
            "num_pages": pages,
            "num_results": len(hits),
            "page_size": limit,
            "query": q,
            "page": page,
            "results": results,
        }
        return json_response(200, body)

    # --- blobs ----------------------------------------------------------------------------
    def blob(self, req: Request, name: str, digest: str) -> Response:
        digest = validate(digest)
        if req.method == "DELETE":
            if not self.store.unlink_blob(name, digest):
                return error(404, "BLOB_UNKNOWN", "blob unknown to registry", digest)
            return Response(202, {"Docker-Content-Digest": digest})
        if req.method not in ("GET", "HEAD"):
            return error(405, "UNSUPPORTED", "method not allowed")
        if not self.store.has_blob(name, digest):
            return error(404, "BLOB_UNKNOWN", "blob unknown to registry", digest)
        size = self.store.blobs.size(digest)
        headers = {
            "Docker-Content-Digest": digest,
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "ETag": f'"{digest}"',
        }
        if req.method == "HEAD":
            return Response(200, {**headers, "Content-Length": str(size)})
        start, end, status = 0, size - 1, 200
        rng = req.headers.get("range", "")
        if rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            try:
                start = int(a) if a else max(0, size - int(b))
                end = int(b) if a and b else size - 1
            except ValueError:
                return error(416, "BLOB_UNKNOWN", "invalid range")
            if start >= size or end < start:
                return Response(416, {"Content-Range": f"bytes */{size}"})
            end = min(end, size - 1)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        f = self.store.blobs.open(digest)
        return Response(status, headers, file=f, offset=start, length=end - start + 1)

    async def uploads(self, req: Request, name: str, u: str) -> Response:
        if not u:
            if req.method != "POST":
                return error(405, "UNSUPPORTED", "method not allowed")
            return await self._start_upload(req, name)
        location = f"/v2/{name}/blobs/uploads/{u}"
        try:
            up = self.store.upload(u)
        except NotFound:
            return error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        if req.method == "DELETE":
            self.store.cancel_upload(u)
            return Response(204)
        if req.method == "GET":
            size = self.store.upload_size(u)
            return Response(204, self._range_headers(location, u, size))
        if req.method not in ("PATCH", "PUT"):
            return error(405, "UNSUPPORTED", "method not allowed")
        offset = self.store.upload_size(u)
        crange = req.headers.get("content-range", "")
        if crange and req.method == "PATCH":
            first = crange.replace("bytes ", "").replace("bytes=", "").split("-")[0]
            if first.isdigit() and int(first) != offset:
                return Response(416, self._range_headers(location, u, offset))
        if up.hash is not None and up.hashed != offset:
            up.hash = None
        with open(up.path, "ab") as fh:
            async for chunk in req.body.chunks():
                self.store.append(up, chunk, fh)
        size = self.store.upload_size(u)
        if req.method == "PATCH":
            return Response(202, self._range_headers(location, u, size))
        digest = req.arg("digest")
        if not digest:
            return error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
        try:
            digest = self.store.finish_upload(name, u, digest)
        except InvalidArgument as e:
            return error(
                400, "DIGEST_INVALID", "provided digest did not match uploaded content", str(e)
            )
        return Response(
            201, {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest}
        )

    def _range_headers(self, location: str, u: str, size: int) -> dict[str, str]:
        return {"Location": location, "Docker-Upload-UUID": u, "Range": f"0-{max(size - 1, 0)}"}

    async def _start_upload(self, req: Request, name: str) -> Response:
        mount, source = req.arg("mount"), req.arg("from")
        if mount and source:
            mount = validate(mount)
            if self._may_read(req, source) and self.store.has_blob(source, mount):
                self.store.link_blob(name, mount)
                return Response(
                    201, {"Location": f"/v2/{name}/blobs/{mount}", "Docker-Content-Digest": mount}
                )
        u = self.store.new_upload()
        digest = req.arg("digest")
        if digest:  # a monolithic POST carries the whole blob
            up = self.store.upload(u)
            with open(up.path, "ab") as fh:
                async for chunk in req.body.chunks():
                    self.store.append(up, chunk, fh)
            try:
                digest = self.store.finish_upload(name, u, digest)
            except InvalidArgument as e:
                return error(
                    400, "DIGEST_INVALID", "provided digest did not match uploaded content", str(e)
                )
            return Response(
                201, {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest}
            )
        return Response(202, self._range_headers(f"/v2/{name}/blobs/uploads/{u}", u, 0))

    def _may_read(self, req: Request, source: str) -> bool:
        try:
            Storage.check_name(source)
        except InvalidArgument:
            return False
        return self.auth is None or self.auth.check(req, f"repository:{source}:pull") is None

    # --- manifests ------------------------------------------------------------------------
    async def manifest(self, req: Request, name: str, ref: str) -> Response:
        if req.method in ("GET", "HEAD", "DELETE") and not _names_a_manifest(ref):
            # The spec's answer for a manifest that is not there is 404 whatever the
            # reference looks like (the conformance suite asks for ".INVALID_MANIFEST_NAME"),
            # and distribution's router answers such a path 404 too.
            return error(404, "MANIFEST_UNKNOWN", "manifest unknown", {"Tag": ref})
        if req.method in ("GET", "HEAD"):
            try:
                digest, media_type = self.store.resolve(name, ref)
            except NotFound:
                return error(404, "MANIFEST_UNKNOWN", "manifest unknown", {"Tag": ref})
            headers = {
                "Docker-Content-Digest": digest,
                "Content-Type": media_type,
                "ETag": f'"{digest}"',
            }
            f = self.store.blobs.open(digest)
            size = self.store.blobs.size(digest)
            if req.method == "HEAD":
                f.close()
                return Response(200, {**headers, "Content-Length": str(size)})
            return Response(200, headers, file=f, offset=0, length=size)
        if req.method == "DELETE":
            try:
                self.store.delete_manifest(name, ref)
            except NotFound:
                return error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            return Response(202)
        if req.method != "PUT":
            return error(405, "UNSUPPORTED", "method not allowed")
        return await self._put_manifest(req, name, ref)

    async def _put_manifest(self, req: Request, name: str, ref: str) -> Response:
        if ":" not in ref and not TAG.match(ref):
            # Checked before anything is stored: a bad tag must not leave an untagged
            # manifest behind.
            return error(400, "TAG_INVALID", "manifest tag did not match URI", {"Tag": ref})
        raw = await req.body.read(MAX_MANIFEST)
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if ":" in ref and validate(ref) != digest:
            return error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
        try:
            data = json.loads(raw)
        except ValueError:
            return error(400, "MANIFEST_INVALID", "manifest invalid", "not JSON")
        if not isinstance(data, dict):
            return error(400, "MANIFEST_INVALID", "manifest invalid")
        media_type = str(data.get("mediaType") or req.headers.get("content-type", "")).split(";")[0]
        if media_type in _INDEX or "manifests" in data:
            for m in data.get("manifests") or []:
                try:
                    self.store.resolve(name, str(m.get("digest")))
                except (NotFound, InvalidArgument):
                    return error(400, "MANIFEST_UNKNOWN", "manifest unknown", m.get("digest"))
            media_type = media_type or "application/vnd.oci.image.index.v1+json"
        else:
            refs = [data.get("config") or {}, *(data.get("layers") or [])]
            for d in refs:
                if d.get("urls"):
                    continue  # a foreign layer lives elsewhere
                try:
                    if not self.store.has_blob(name, str(d.get("digest"))):
                        raise NotFound("blob unknown")
                except (NotFound, InvalidArgument):
                    return error(
                        400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", d.get("digest")
                    )
            media_type = media_type or _IMAGE[1]
        self.store.put_manifest(name, raw, media_type)
        if ":" not in ref:
            self.store.tag(name, ref, digest)
        return Response(
            201, {"Location": f"/v2/{name}/manifests/{digest}", "Docker-Content-Digest": digest}
        )
