"""cove against real registries on loopback: Debian's docker-registry and cove's own."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from tests.daemon_fixture import Daemon, running_daemon
from tests.integration.registry.conftest import Registry, cove_registry, free_port, http_get


def _ok(d: Daemon, *args: str) -> str:
    return d.cove(*args, check=True).stdout


def _forget(d: Daemon, *refs: str) -> None:
    d.cove("rmi", *refs)


def test_push_pull_docker_registry(daemon: Daemon, dreg: Registry) -> None:
    name = f"{dreg.addr}/team/bb:1"
    _ok(daemon, "tag", "busybox", name)
    out = _ok(daemon, "push", name)
    assert f"The push refers to repository [{dreg.addr}/team/bb]" in out
    assert "Pushed" in out and "1: digest: sha256:" in out
    again = _ok(daemon, "push", name)
    assert "Layer already exists" in again
    assert json.loads(http_get(dreg.url("/v2/team/bb/tags/list")))["tags"] == ["1"]
    _forget(daemon, name)
    pulled = _ok(daemon, "pull", name)
    assert "Digest: sha256:" in pulled and f"Status: Downloaded newer image for {name}" in pulled
    assert _ok(daemon, "run", "--rm", name, "echo", "from-registry").strip() == "from-registry"
    digests = json.loads(_ok(daemon, "image", "inspect", name))[0]["RepoDigests"]
    assert any(x.startswith(f"{dreg.addr}/team/bb@sha256:") for x in digests)
    up = _ok(daemon, "pull", name)
    assert f"Status: Image is up to date for {name}" in up
    _forget(daemon, name)


def test_pull_by_digest_and_all_tags(daemon: Daemon, creg: Registry) -> None:
    for tag in ("a", "b"):
        _ok(daemon, "tag", "busybox", f"{creg.addr}/multi/bb:{tag}")
        _ok(daemon, "push", "-q", f"{creg.addr}/multi/bb:{tag}")
    digest = json.loads(_ok(daemon, "image", "inspect", f"{creg.addr}/multi/bb:a"))[0][
        "RepoDigests"
    ][0].split("@")[1]
    _forget(daemon, f"{creg.addr}/multi/bb:a", f"{creg.addr}/multi/bb:b")
    _ok(daemon, "pull", f"{creg.addr}/multi/bb@{digest}")
    _ok(daemon, "pull", "--all-tags", f"{creg.addr}/multi/bb")
    tags = _ok(daemon, "images", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert sorted(t for t in tags if "/multi/" in t) == [
        f"{creg.addr}/multi/bb:a",
        f"{creg.addr}/multi/bb:b",
    ]
    _forget(daemon, f"{creg.addr}/multi/bb:a", f"{creg.addr}/multi/bb:b")


def test_cross_repository_mount(daemon: Daemon) -> None:
    with cove_registry() as reg:
        _ok(daemon, "tag", "busybox", f"{reg.addr}/one/bb:1")
        _ok(daemon, "push", f"{reg.addr}/one/bb:1")
        _ok(daemon, "tag", "busybox", f"{reg.addr}/two/bb:1")
        out = _ok(daemon, "push", f"{reg.addr}/two/bb:1")
        assert "Mounted from one/bb" in out
        _forget(daemon, f"{reg.addr}/one/bb:1", f"{reg.addr}/two/bb:1")


def test_docker_messages_for_failures(daemon: Daemon, creg: Registry) -> None:
    r = daemon.cove("pull", f"{creg.addr}/nope/bb:missing")
    assert r.returncode == 1
    assert (
        f"manifest for {creg.addr}/nope/bb:missing not found: manifest unknown: manifest unknown"
        in r.stderr
    )
    port = free_port()
    r = daemon.cove("pull", f"127.0.0.1:{port}/x:1")
    assert r.returncode == 1
    assert f'Get "http://127.0.0.1:{port}/v2/": dial tcp 127.0.0.1:{port}: connect: ' in r.stderr
    assert "connection refused" in r.stderr
    r = daemon.cove("push", f"{creg.addr}/not/here:1")
    assert "An image does not exist locally with the tag" in r.stderr


def test_digest_mismatch_discards_the_blob() -> None:
    with cove_registry() as reg, running_daemon() as daemon:
        name = f"{reg.addr}/bad/bb:1"
        _ok(daemon, "tag", "busybox", name)
        _ok(daemon, "push", name)
        _ok(daemon, "rmi", "-f", "busybox", name)
        layers = [
            os.path.join(dp, f)
            for dp, _, fs in os.walk(os.path.join(reg.root, "blobs"))
            for f in fs
            if os.path.getsize(os.path.join(dp, f)) > 10000
        ]
        assert layers
        for p in layers:  # corrupt the stored layer: same size, other bytes
            os.chmod(p, 0o644)
            with open(p, "r+b") as f:
                f.seek(100)
                f.write(b"corrupted!")
        r = daemon.cove("pull", name)
        assert r.returncode == 1
        assert "filesystem layer verification failed for digest sha256:" in r.stderr
        assert daemon.cove("image", "inspect", name).returncode == 1
        for dp, _, fs in os.walk(daemon.data_root):
            if os.path.basename(dp) == "sha256" and "blobs" in dp:
                for f in fs:  # whatever is stored is what its name says (nothing corrupt)
                    with open(os.path.join(dp, f), "rb") as fh:
                        assert hashlib.sha256(fh.read()).hexdigest() == f


def test_mirrors_fall_back_to_the_next(mirror_daemon: Daemon, creg: Registry) -> None:
    d = mirror_daemon
    _ok(d, "tag", "busybox", f"{creg.addr}/library/busybox:latest")
    _ok(d, "push", f"{creg.addr}/library/busybox:latest")
    _ok(d, "rmi", "-f", "busybox", f"{creg.addr}/library/busybox:latest")
    out = _ok(d, "pull", "busybox")
    assert "Status: Downloaded newer image for busybox:latest" in out
    assert "docker.io/library/busybox:latest" in out
    assert _ok(d, "run", "--rm", "busybox", "echo", "mirrored").strip() == "mirrored"
    r = d.cove("pull", "nosuchimage:1")
    assert r.returncode == 1  # every mirror said no: the last one's answer is reported


def test_skopeo_copies_into_and_out_of_cove_registry(daemon: Daemon, creg: Registry) -> None:
    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed")
    name = f"{creg.addr}/sk/bb:1"
    _ok(daemon, "tag", "busybox", name)
    _ok(daemon, "push", name)
    tmp = tempfile.mkdtemp(prefix="cove-skopeo-", dir="/tmp")
    try:
        run = ["skopeo", "--insecure-policy"]
        subprocess.run(
            [*run, "copy", "--src-tls-verify=false", f"docker://{name}", f"oci:{tmp}/oci:bb"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [*run, "copy", "--dest-tls-verify=false", f"oci:{tmp}/oci:bb",
             f"docker://{creg.addr}/sk/fromskopeo:2"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        insp = subprocess.run(
            [*run, "inspect", "--tls-verify=false", f"docker://{creg.addr}/sk/fromskopeo:2"],
            check=True,
            capture_output=True,
            text=True,
        )
        assert json.loads(insp.stdout)["Layers"]
        _ok(daemon, "pull", f"{creg.addr}/sk/fromskopeo:2")
        out = _ok(daemon, "run", "--rm", f"{creg.addr}/sk/fromskopeo:2", "echo", "sk")
        assert out.strip() == "sk"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        _forget(daemon, name, f"{creg.addr}/sk/fromskopeo:2")


def test_search_against_cove_registry(daemon: Daemon, creg: Registry) -> None:
    _ok(daemon, "tag", "busybox", f"{creg.addr}/findme/app:1")
    _ok(daemon, "push", f"{creg.addr}/findme/app:1")
    out = _ok(daemon, "search", f"{creg.addr}/findme")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
    assert lines[1].split()[0] == "findme/app"
    fmt = _ok(daemon, "search", "--format", "{{.Name}}:{{.StarCount}}", f"{creg.addr}/findme")
    assert fmt.split() == ["findme/app:0"]
    assert _ok(daemon, "search", "--filter", "stars=3", f"{creg.addr}/findme").count("\n") == 1
    assert _ok(daemon, "search", "--limit", "1", "--no-trunc", f"{creg.addr}/f").count("\n") == 2
    if shutil.which("docker"):
        r = subprocess.run(
            ["docker", "search", f"{creg.addr}/findme"],
            capture_output=True,
            text=True,
            env=daemon.env,
        )
        assert "findme/app" in r.stdout, r.stderr
    _forget(daemon, f"{creg.addr}/findme/app:1")


def test_docker_cli_push_and_pull(daemon: Daemon, creg: Registry) -> None:
    if shutil.which("docker") is None:
        pytest.skip("docker CLI missing")
    name = f"{creg.addr}/dockercli/bb:1"

    def docker(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], capture_output=True, text=True, env=daemon.env)

    assert docker("tag", "busybox", name).returncode == 0
    r = docker("push", name)
    assert r.returncode == 0 and "digest: sha256:" in r.stdout, r.stderr
    assert docker("rmi", name).returncode == 0
    r = docker("pull", name)
    assert r.returncode == 0 and "Downloaded newer image" in r.stdout, r.stderr
    r = docker("pull", f"{creg.addr}/dockercli/bb:nope")
    assert "manifest unknown" in r.stderr
    docker("rmi", name)


def test_distribution_inspect(daemon: Daemon, creg: Registry) -> None:
    """GET /distribution/{name}/json (docker-py's inspect_distribution): the manifest's
    descriptor and the platform its config declares, without pulling."""
    docker = pytest.importorskip("docker")
    name = f"{creg.addr}/dist/bb:1"
    _ok(daemon, "tag", "busybox", name)
    _ok(daemon, "push", name)
    digest = json.loads(_ok(daemon, "image", "inspect", name))[0]["RepoDigests"][0]
    client = docker.APIClient(base_url=daemon.host)
    try:
        data = client.inspect_distribution(name)
        assert data["Descriptor"]["digest"] == digest.split("@")[1]
        assert data["Descriptor"]["mediaType"].endswith("manifest.v2+json")
        assert {"os": "linux", "architecture": "amd64"} in data["Platforms"]
        with pytest.raises(docker.errors.NotFound):
            client.inspect_distribution(f"{creg.addr}/dist/bb:nope")
    finally:
        client.close()
        _forget(daemon, name)


def _put_blob(reg: Registry, repo: str, data: bytes) -> str:
    """A monolithic upload (POST, then PUT with the digest); returns the digest."""
    import urllib.request

    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    req = urllib.request.Request(reg.url(f"/v2/{repo}/blobs/uploads/"), method="POST")
    with urllib.request.urlopen(req) as r:
        loc = r.headers["Location"]
    url = loc if loc.startswith("http") else reg.url(loc)
    url += ("&" if "?" in url else "?") + f"digest={digest}"
    put = urllib.request.Request(url, data=data, method="PUT")
    put.add_header("Content-Type", "application/octet-stream")
    urllib.request.urlopen(put).close()
    return digest


def test_pull_of_a_zstd_layer(daemon: Daemon, creg: Registry) -> None:
    """An OCI image whose layer is zstd-compressed (two frames) pulls and runs."""
    import tarfile
    import urllib.request

    import zstandard

    out = tempfile.mkdtemp(prefix="cove-zstd-", dir="/tmp")
    try:
        _ok(daemon, "save", "-o", f"{out}/bb.tar", "busybox")
        with tarfile.open(f"{out}/bb.tar") as t:
            manifest = json.load(t.extractfile("manifest.json"))[0]  # type: ignore[arg-type]
            config = t.extractfile(manifest["Config"]).read()  # type: ignore[union-attr]
            layers = [t.extractfile(x).read() for x in manifest["Layers"]]  # type: ignore[union-attr]
        repo = "zstd/bb"
        descs = []
        for tar in layers:
            half = len(tar) // 2
            packed = zstandard.compress(tar[:half]) + zstandard.compress(tar[half:])
            d = _put_blob(creg, repo, packed)
            descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
                          "digest": d, "size": len(packed)})  # fmt: skip
        cfg = _put_blob(creg, repo, config)
        body = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": cfg, "size": len(config)},
            "layers": descs,
        }).encode()  # fmt: skip
        req = urllib.request.Request(creg.url(f"/v2/{repo}/manifests/1"), data=body, method="PUT")
        req.add_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        urllib.request.urlopen(req).close()
        name = f"{creg.addr}/{repo}:1"
        _ok(daemon, "pull", name)
        assert _ok(daemon, "run", "--rm", name, "echo", "zstd").strip() == "zstd"
        _forget(daemon, name)
    finally:
        shutil.rmtree(out, ignore_errors=True)
