"""Pure parts of the registry client: endpoints, challenges, manifests, progress."""

from __future__ import annotations

import base64
import json

import pytest

from cove.distribution.registry import auth, manifest
from cove.distribution.registry.endpoints import RegistryConfig
from cove.distribution.registry.errors import RegistryNotFound, categorise, describe
from cove.distribution.registry.progress import Reporter, bar
from cove.errors import InvalidArgument, NotFound


def test_docker_io_goes_through_mirrors_then_hub() -> None:
    cfg = RegistryConfig(mirrors=["http://127.0.0.1:5001", "https://mirror.example"])
    eps = cfg.endpoints("docker.io")
    assert [e.base for e in eps] == [
        "http://127.0.0.1:5001",
        "https://mirror.example",
        "https://registry-1.docker.io",
    ]
    assert eps[0].mirror and not eps[-1].mirror


def test_mirrors_only_for_docker_io() -> None:
    cfg = RegistryConfig(mirrors=["http://127.0.0.1:5001"])
    assert [e.base for e in cfg.endpoints("quay.io")] == ["https://quay.io"]


def test_loopback_and_listed_registries_are_insecure() -> None:
    cfg = RegistryConfig(insecure=["10.0.0.0/8", "reg.local:5000"])
    assert cfg.is_insecure("127.0.0.1:5000")
    assert cfg.is_insecure("127.8.9.1")
    assert cfg.is_insecure("localhost:5000")
    assert cfg.is_insecure("10.1.2.3:5000")
    assert cfg.is_insecure("reg.local:5000")
    assert not cfg.is_insecure("reg.local:5001")
    assert not cfg.is_insecure("quay.io")
    ep = cfg.endpoints("127.0.0.1:5000")[0]
    assert ep.fallback_http and not ep.verify


def test_bad_mirror_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        RegistryConfig(mirrors=["ftp://x"]).endpoints("docker.io")


def test_parse_challenge() -> None:
    scheme, p = auth.parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull"'
    )
    assert scheme == "bearer"
    assert p == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:library/busybox:pull",
    }
    assert auth.parse_challenge('Basic realm="x"') == ("basic", {"realm": "x"})


def test_registry_auth_header_roundtrip() -> None:
    c = auth.Credentials("u", "p")
    assert auth.decode_registry_auth(auth.encode_registry_auth(c)) == c
    assert auth.decode_registry_auth(None).empty
    assert auth.decode_registry_auth(base64.b64encode(b"{}").decode()).empty
    assert c.basic() == "Basic " + base64.b64encode(b"u:p").decode()


def test_token_answer() -> None:
    assert auth.token_from_answer(b'{"token": "t"}') == "t"
    assert auth.token_from_answer(b'{"access_token": "a"}') == "a"
    with pytest.raises(InvalidArgument):
        auth.token_from_answer(b"{}")


def test_error_body_in_distribution_words() -> None:
    body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})
    code, text = describe(404, body.encode())
    assert (code, text) == ("MANIFEST_UNKNOWN", "manifest unknown: manifest unknown")
    err = categorise(404, code, text)
    assert isinstance(err, RegistryNotFound) and isinstance(err, NotFound)
    assert describe(401, b"")[1] == "unauthorized: authentication required"


def _index() -> bytes:
    def entry(arch: str, variant: str = "") -> dict[str, object]:
        plat = {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}
        digest = "sha256:" + (arch + variant).encode().hex().ljust(64, "0")[:64]
        return {"mediaType": manifest.OCI_MANIFEST, "digest": digest, "size": 1, "platform": plat}

    return json.dumps(
        {"mediaType": manifest.OCI_INDEX, "manifests": [entry("arm", "v6"), entry("arm", "v7"),
                                                         entry("amd64"), entry("arm64", "v8")]}
    ).encode()  # fmt: skip


def test_platform_selection() -> None:
    raw = _index()
    assert manifest.select_platform(raw, ("linux", "amd64", ""), "x").platform == {
        "os": "linux",
        "architecture": "amd64",
    }
    d = manifest.select_platform(raw, ("linux", "arm", "v7"), "x")
    assert d.platform is not None and d.platform["variant"] == "v7"
    assert manifest.select_platform(raw, ("linux", "arm64", ""), "x").platform is not None
    with pytest.raises(NotFound, match="no matching manifest for windows/amd64"):
        manifest.select_platform(raw, ("windows", "amd64", ""), "x")


def test_parse_platform() -> None:
    assert manifest.parse_platform("linux/arm64")[:2] == ("linux", "arm64")
    assert manifest.parse_platform("linux/arm/v7") == ("linux", "arm", "v7")
    assert manifest.parse_platform("linux/x86_64")[1] == "amd64"


def test_media_type_detection() -> None:
    assert manifest.media_type_of(b"{}", manifest.DOCKER_MANIFEST) == manifest.DOCKER_MANIFEST
    assert manifest.media_type_of(b'{"manifests": []}', "") == manifest.OCI_INDEX
    with pytest.raises(InvalidArgument, match="schema 1"):
        manifest.media_type_of(b'{"schemaVersion": 1}', "application/json")


def test_descriptor_rejects_bad_digest() -> None:
    with pytest.raises(InvalidArgument):
        manifest.Descriptor.parse({"digest": "sha256:../../etc", "size": 1})
    with pytest.raises(InvalidArgument):
        manifest.Descriptor.parse({"digest": "sha256:" + "a" * 64, "size": -1})


def test_schema2_manifest() -> None:
    cfg = manifest.Descriptor(manifest.DOCKER_CONFIG, "sha256:" + "a" * 64, 10)
    layer = manifest.Descriptor(manifest.DOCKER_LAYER_GZIP, "sha256:" + "b" * 64, 20)
    data = json.loads(manifest.schema2(cfg, [layer]))
    assert data["mediaType"] == manifest.DOCKER_MANIFEST
    assert data["layers"][0] == {"mediaType": manifest.DOCKER_LAYER_GZIP, "size": 20,
                                 "digest": "sha256:" + "b" * 64}  # fmt: skip


def test_progress_messages_are_thinned() -> None:
    got: list[dict[str, object]] = []
    r = Reporter(got.append)
    for n in range(0, 100 << 20, 64 << 10):
        r.bytes("Downloading", "abc", n, 100 << 20)
    r.bytes("Downloading", "abc", 100 << 20, 100 << 20)
    assert 50 < len(got) < 200
    assert got[-1]["progressDetail"] == {"current": 100 << 20, "total": 100 << 20}
    assert bar(50, 100).startswith("[" + "=" * 25 + ">")


def test_network_errors_in_go_words() -> None:
    import socket

    from cove.distribution.registry.errors import network_error

    e = network_error(
        "GET", "https://nosuch.invalid/v2/", "nosuch.invalid", socket.gaierror(-2, "x")
    )
    assert (
        str(e) == 'Get "https://nosuch.invalid/v2/": dial tcp: lookup nosuch.invalid: no such host'
    )
    e = network_error("GET", "http://127.0.0.1:1/v2/", "127.0.0.1:1", ConnectionRefusedError())
    assert (
        str(e) == 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused'
    )


def test_search_filters() -> None:
    from cove.engine.images.registry_ops import _search_filter

    rows = [
        {"name": "a", "star_count": 5, "is_official": True, "is_automated": False},
        {"name": "b", "star_count": 1, "is_official": False, "is_automated": True},
    ]
    pick = _search_filter({"stars": ["3"]})
    assert [r["name"] for r in rows if pick(r)] == ["a"]
    pick = _search_filter({"is-automated": ["true"]})
    assert [r["name"] for r in rows if pick(r)] == ["b"]
    with pytest.raises(InvalidArgument):
        _search_filter({"colour": ["x"]})
