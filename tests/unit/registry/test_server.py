"""cove's registry server spoken to by cove's distribution client, both in this process."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from typing import Any, BinaryIO

import pytest

from cove.distribution.registry import auth, upload
from cove.distribution.registry.endpoints import Endpoint, RegistryConfig
from cove.distribution.registry.errors import RegistryNotFound, RegistryUnauthorized
from cove.distribution.registry.manifest import DOCKER_MANIFEST
from cove.distribution.registry.pull import Puller
from cove.distribution.registry.session import Session
from cove.errors import InvalidArgument
from cove.image.base import Image
from cove.oci.reference import parse
from cove.registry import gc
from cove.registry.auth import Authorizer
from cove.registry.http import Handler, Request, Response
from cove.store.local import LocalBlobStore
from tests.unit.registry.conftest import Served, _serve


def sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def session(s: Served, repo: str = "team/app", creds: auth.Credentials = auth.ANONYMOUS) -> Session:
    return Session(Endpoint(s.addr, "http", False), repo, creds, "pull,push")


def test_ping_and_version_header(served: Served) -> None:
    sess = session(served)
    resp = sess.request("GET", f"http://{served.addr}/v2/")
    assert resp.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert json.loads(resp.read()) == {}


@pytest.mark.parametrize("chunk", [None, 1000, 4096])
def test_blob_upload_monolithic_and_chunked(served: Served, chunk: int | None) -> None:
    data = os.urandom(10_000)
    sess = session(served)
    upload.push_blob(sess, io.BytesIO(data), len(data), sha(data), chunk_size=chunk)
    resp = sess.request("GET", f"blobs/{sha(data)}")
    assert resp.read() == data
    assert resp.headers["Docker-Content-Digest"] == sha(data)


def test_ranged_blob_get(served: Served) -> None:
    data = os.urandom(5000)
    sess = session(served)
    upload.push_blob(sess, io.BytesIO(data), len(data), sha(data))
    resp = sess.request("GET", f"blobs/{sha(data)}", {"Range": "bytes=1000-"}, ok=(206,))
    assert resp.read() == data[1000:]
    assert resp.headers["Content-Range"] == "bytes 1000-4999/5000"


def test_digest_mismatch_is_refused_and_nothing_kept(served: Served) -> None:
    sess = session(served)
    with pytest.raises(InvalidArgument.__mro__[0]) as ei:  # a RegistryError (400)
        upload.push_blob(sess, io.BytesIO(b"abc"), 3, sha(b"abd"))
    assert "digest" in str(ei.value).lower()
    assert served.app.store.blobs.list() == []
    assert os.listdir(served.app.store.uploads_dir) == []


def test_manifest_needs_its_blobs_and_tags_list(served: Served) -> None:
    sess = session(served)
    config = b'{"rootfs": {"diff_ids": []}}'
    missing = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                          "config": {"digest": sha(config), "size": len(config)},
                          "layers": []}).encode()  # fmt: skip
    with pytest.raises(Exception, match="blob unknown"):
        sess.request("PUT", "manifests/v1", {"Content-Type": DOCKER_MANIFEST}, missing, ok=(201,))
    upload.push_blob(sess, io.BytesIO(config), len(config), sha(config))
    for tag in ("v1", "v2", "v3"):
        sess.request("PUT", f"manifests/{tag}", {"Content-Type": DOCKER_MANIFEST}, missing,
                     ok=(201,)).read()  # fmt: skip
    resp = sess.request("GET", "manifests/v1", {"Accept": DOCKER_MANIFEST})
    assert resp.read() == missing and resp.headers["Content-Type"] == DOCKER_MANIFEST
    assert sess.json("GET", "tags/list") == {"name": "team/app", "tags": ["v1", "v2", "v3"]}
    page = sess.request("GET", "tags/list?n=2")
    assert json.loads(page.read())["tags"] == ["v1", "v2"]
    assert 'rel="next"' in page.headers["Link"]
    cat = sess.json("GET", f"http://{served.addr}/v2/_catalog")
    assert cat == {"repositories": ["team/app"]}
    # delete by digest removes every tag on it
    sess.request("DELETE", f"manifests/{sha(missing)}", ok=(202,)).read()
    with pytest.raises(RegistryNotFound):
        sess.request("GET", "manifests/v1")


def test_cross_repo_mount(served: Served) -> None:
    data = b"shared layer"
    upload.push_blob(session(served, "a/one"), io.BytesIO(data), len(data), sha(data))
    other = session(served, "b/two")
    status, _ = upload.start(other, {"mount": sha(data), "from": "a/one"})
    assert status == 201
    head = other.request("HEAD", f"blobs/{sha(data)}")
    head.read()
    assert head.status == 200
    status, _ = upload.start(other, {"mount": sha(b"x"), "from": "a/one"})
    assert status == 202  # not there: a normal upload is opened instead


def test_search_shape(served: Served) -> None:
    data = b"{}"
    for repo in ("team/app", "team/web", "other/db"):
        s = session(served, repo)
        upload.push_blob(s, io.BytesIO(data), 2, sha(data))
        cfg = {"digest": sha(data), "size": 2}
        m = json.dumps({"schemaVersion": 2, "config": cfg, "layers": []}).encode()
        s.request("PUT", "manifests/latest", {"Content-Type": DOCKER_MANIFEST}, m, ok=(201,)).read()
    sess = session(served)
    body = sess.json("GET", f"http://{served.addr}/v1/search?q=team&n=1")
    assert body["num_results"] == 2 and body["page_size"] == 1 and body["query"] == "team"
    assert body["results"] == [{"name": "team/app", "description": "", "star_count": 0,
                                "is_official": False, "is_automated": False,
                                "is_trusted": False}]  # fmt: skip


def test_gc_removes_only_unreferenced(served: Served) -> None:
    sess = session(served)
    keep, drop = b"{}", b"orphan"
    for b in (keep, drop):
        upload.push_blob(sess, io.BytesIO(b), len(b), sha(b))
    m = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                    "config": {"digest": sha(keep), "size": 2}, "layers": []}).encode()  # fmt: skip
    sess.request("PUT", "manifests/latest", {"Content-Type": DOCKER_MANIFEST}, m, ok=(201,)).read()
    assert gc.collect(served.app.store) == [sha(drop)]
    assert served.app.store.blobs.has(sha(keep)) and served.app.store.blobs.has(sha(m))


def test_basic_and_token_auth(tmp_path: Any) -> None:
    for mode in ("basic", "token"):
        authz = Authorizer({"u": "p"}, mode, "")
        gen = _serve(str(tmp_path / mode), authz)
        s = next(gen)
        authz.realm = f"http://{s.addr}/token"
        try:
            with pytest.raises(RegistryUnauthorized):
                session(s).request("GET", "tags/list")
            with pytest.raises(RegistryUnauthorized):
                session(s, creds=auth.Credentials("u", "bad")).request("GET", "tags/list")
            ok = session(s, creds=auth.Credentials("u", "p"))
            upload.push_blob(ok, io.BytesIO(b"x"), 1, sha(b"x"))
            assert ok.request("HEAD", f"blobs/{sha(b'x')}").status == 200
        finally:
            gen.close()


# --- pull through the client, with a layer store that only records -------------------------
class RecordingImages:
    def __init__(self) -> None:
        self.layers: list[str] = []
        self.configs: list[bytes] = []
        self.names: dict[str, str] = {}

    def add_layer(self, tar: BinaryIO, parents: list[str], diff_id: str | None = None) -> str:
        data = gzip.decompress(tar.read())
        assert sha(data) == diff_id
        self.layers.append(sha(data))
        return sha(data)

    def create_raw(self, raw: bytes) -> Image:
        self.configs.append(raw)
        return Image(sha(raw), json.loads(raw))

    def resolve(self, ref: str) -> Image:
        from cove.errors import NotFound

        raise NotFound(ref)

    def tag(self, image_id: str, ref: str) -> None:
        self.names[ref] = image_id

    def add_repo_digest(self, image_id: str, ref: str) -> None:
        self.names[ref] = image_id


def _layer(content: bytes) -> tuple[bytes, bytes]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("file")
        info.size = len(content)
        t.addfile(info, io.BytesIO(content))
    raw = buf.getvalue()
    return raw, gzip.compress(raw, mtime=0)


def _push_image(s: Served, repo: str, n: int) -> list[bytes]:
    sess = session(s, repo)
    raws, blobs = [], []
    for i in range(n):
        raw, gz = _layer(os.urandom(50_000 + i))
        raws.append(raw)
        blobs.append(gz)
        upload.push_blob(sess, io.BytesIO(gz), len(gz), sha(gz))
    config = json.dumps({"rootfs": {"type": "layers", "diff_ids": [sha(r) for r in raws]}}).encode()
    upload.push_blob(sess, io.BytesIO(config), len(config), sha(config))
    m = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
         "config": {"mediaType": "x", "digest": sha(config), "size": len(config)},
         "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                     "digest": sha(b), "size": len(b)} for b in blobs]}  # fmt: skip
    sess.request("PUT", "manifests/1", {"Content-Type": DOCKER_MANIFEST},
                 json.dumps(m).encode(), ok=(201,)).read()  # fmt: skip
    return raws


def test_pull_resumes_an_interrupted_blob(served: Served, tmp_path: Any) -> None:
    raws = _push_image(served, "team/app", 3)
    cut: list[str] = []

    async def flaky(req: Request, handle: Handler) -> Response:
        resp = await handle(req)
        big = resp.file is not None and resp.length > 10_000
        if "/blobs/" in req.path and big and "range" not in req.headers and len(cut) < 3:
            # send half of the blob, promise all of it, hang up
            cut.append(req.path)
            resp.headers["Content-Length"] = str(resp.length)
            resp.headers["Connection"] = "close"
            resp.length //= 2
        return resp

    served.wrap[0] = flaky
    images = RecordingImages()
    msgs: list[dict[str, Any]] = []
    blobs = LocalBlobStore(str(tmp_path / "store"))
    puller = Puller(RegistryConfig(), images, blobs, None, msgs.append)  # type: ignore[arg-type]
    res = puller.pull(parse(f"{served.addr}/team/app:1"), auth.ANONYMOUS)
    assert images.layers == [sha(r) for r in raws]
    assert cut and any(m.get("status", "").startswith("Retrying") for m in msgs)
    assert [m["status"] for m in msgs if m.get("status", "").startswith("Digest")] == [
        f"Digest: {res.digest}"
    ]
    assert blobs.list() == []  # compressed blobs are dropped once unpacked
    assert images.names[f"{served.addr}/team/app:1"] == res.image_id


def test_docker_transport_copies_registry_to_registry(served: Served, tmp_path: Any) -> None:
    from cove.distribution.copy import copy_images
    from cove.distribution.docker_transport import RegistryDestination, RegistrySource

    raws = _push_image(served, "src/app", 2)
    cfg = RegistryConfig()
    src = RegistrySource(cfg, f"{served.addr}/src/app:1")
    dst = RegistryDestination(cfg, f"{served.addr}/dst/app:2", LocalBlobStore(str(tmp_path)))
    done = copy_images(src, dst)
    assert len(done) == 1
    sess = session(served, "dst/app")
    m = json.loads(sess.request("GET", "manifests/2", {"Accept": DOCKER_MANIFEST}).read())
    assert len(m["layers"]) == 2
    config = json.loads(sess.request("GET", f"blobs/{m['config']['digest']}").read())
    assert config["rootfs"]["diff_ids"] == [sha(r) for r in raws]
    for layer, raw in zip(m["layers"], raws, strict=True):
        blob = sess.request("GET", f"blobs/{layer['digest']}").read()
        assert gzip.decompress(blob) == raw
