"""Regression tests for what the OCI distribution-spec conformance suite (v1.0.1) found in
cove's registry, spoken to over plain HTTP (scripts/oci-conformance.sh runs the suite)."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
from typing import Any

import pytest

from tests.unit.registry.conftest import Served

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def call(
    s: Served, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(s.addr, timeout=10)
    try:
        conn.request(method, path, body, {k.replace("_", "-"): v for k, v in headers.items()})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def codes(body: bytes) -> list[str]:
    return [e["code"] for e in json.loads(body)["errors"]]


def push_image(s: Served, repo: str, tag: str) -> tuple[str, bytes]:
    """One config blob and a manifest naming it, by tag; returns (manifest digest, manifest)."""
    config = b"{}"
    status, _, _ = call(s, "POST", f"/v2/{repo}/blobs/uploads/?digest={sha(config)}", config)
    assert status == 201
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha(config),
                "size": len(config),
            },
            "layers": [],
        }
    ).encode()
    status, _, _ = call(
        s, "PUT", f"/v2/{repo}/manifests/{tag}", manifest, Content_Type=OCI_MANIFEST
    )
    assert status == 201
    return sha(manifest), manifest


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("ref", [".INVALID_MANIFEST_NAME", "-x", "sha256:nothex", "md5:abcd"])
def test_a_malformed_reference_is_a_missing_manifest(served: Served, method: str, ref: str) -> None:
    # The suite's "GET/HEAD nonexistent manifest should return 404" uses a reference that is
    # no valid tag; cove answered 400 NAME_INVALID.
    push_image(served, "team/app", "v1")
    status, _, body = call(served, method, f"/v2/team/app/manifests/{ref}")
    assert status == 404
    if method == "GET":
        assert codes(body) == ["MANIFEST_UNKNOWN"]


@pytest.mark.parametrize("ref", ["..", ".", ".INVALID", "sha256:nothex"])
def test_deleting_a_malformed_reference_is_404_and_touches_nothing(
    served: Served, ref: str
) -> None:
    # ".." used to reach os.unlink() on the _manifests directory (a 500).
    _, manifest = push_image(served, "team/app", "v1")
    status, _, body = call(served, "DELETE", f"/v2/team/app/manifests/{ref}")
    assert (status, codes(body)) == (404, ["MANIFEST_UNKNOWN"])
    status, _, got = call(served, "GET", "/v2/team/app/manifests/v1")
    assert (status, got) == (200, manifest)
    assert json.loads(call(served, "GET", "/v2/team/app/tags/list")[2])["tags"] == ["v1"]


def test_storage_refuses_a_tag_path_outside_tags(served: Served) -> None:
    push_image(served, "team/app", "v1")
    with pytest.raises(Exception, match="manifest unknown"):
        served.app.store.delete_manifest("team/app", "..")
    assert os.path.isdir(os.path.join(served.app.store.repos_dir, "team/app/_manifests"))


def test_put_with_an_invalid_tag_stores_nothing(served: Served) -> None:
    # The manifest used to be stored before the tag was checked: a 400 that left an
    # untagged revision behind.
    config = b"{}"
    call(served, "POST", f"/v2/team/app/blobs/uploads/?digest={sha(config)}", config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "layers": [],
            "config": {"digest": sha(config), "size": 2, "mediaType": "x"},
        }
    ).encode()
    status, _, body = call(
        served, "PUT", "/v2/team/app/manifests/.bad", manifest, Content_Type=OCI_MANIFEST
    )
    assert (status, codes(body)) == (400, ["TAG_INVALID"])
    assert call(served, "GET", f"/v2/team/app/manifests/{sha(manifest)}")[0] == 404
    assert served.app.store.revisions("team/app") == []


def test_tags_list_with_n_zero_is_an_empty_page(served: Served) -> None:
    # n=0 used to index an empty list (a 500).
    push_image(served, "team/app", "v1")
    push_image(served, "team/app", "v2")
    status, headers, body = call(served, "GET", "/v2/team/app/tags/list?n=0")
    data: Any = json.loads(body)
    assert (status, data) == (200, {"name": "team/app", "tags": []})
    assert "link" not in headers
    status, headers, body = call(served, "GET", "/v2/team/app/tags/list?n=1")
    assert json.loads(body)["tags"] == ["v1"]
    assert headers["link"] == '</v2/team/app/tags/list?n=1&last=v1>; rel="next"'
