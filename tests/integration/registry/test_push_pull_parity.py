"""Pushes that share a base and pulls by digest, as dockerd does them (issue 15, items 2, 3)."""

from __future__ import annotations

import json

import pytest

from tests.daemon_fixture import Daemon
from tests.integration.registry.conftest import Registry


def _ok(d: Daemon, *args: str) -> str:
    return d.cove(*args, check=True).stdout


@pytest.mark.parametrize("kind", ["creg", "dreg"])
def test_push_of_images_sharing_a_base_to_a_plain_http_registry(
    daemon: Daemon, kind: str, request: pytest.FixtureRequest
) -> None:
    """A layer already in the registry (existence check, cross-repository mount) goes over
    plain HTTP too: loopback is an insecure registry.  The layer pushes run in parallel."""
    reg: Registry = request.getfixturevalue(kind)
    base, app, base2 = (f"{reg.addr}/par/base:1", f"{reg.addr}/par/app:1",
                        f"{reg.addr}/par/base:2")  # fmt: skip
    box = f"par-{kind}"
    try:
        _ok(daemon, "tag", "busybox", base)
        _ok(daemon, "push", base)
        _ok(daemon, "run", "--name", box, "busybox", "sh", "-c", "echo app > /app")
        _ok(daemon, "commit", box, app)
        out = _ok(daemon, "push", app)
        assert "Mounted from par/base" in out or "Layer already exists" in out, out
        assert "1: digest: sha256:" in out
        _ok(daemon, "tag", "busybox", base2)
        assert "Layer already exists" in _ok(daemon, "push", base2)
    finally:
        daemon.cove("rm", "-f", box)
        daemon.cove("rmi", base, app, base2)


def test_pull_by_digest_of_a_present_image_and_rmi_of_the_digest(
    daemon: Daemon, creg: Registry
) -> None:
    tag = f"{creg.addr}/dig/bb:1"
    _ok(daemon, "tag", "busybox", tag)
    _ok(daemon, "push", tag)
    digest = json.loads(_ok(daemon, "image", "inspect", tag))[0]["RepoDigests"][0]
    assert digest.startswith(f"{creg.addr}/dig/bb@sha256:")
    out = _ok(daemon, "pull", digest)
    assert out.startswith(f"{digest}: Pulling from dig/bb\n"), out
    assert "Already exists" not in out  # nothing is fetched for an image already here
    assert f"Status: Image is up to date for {digest}\n" in out
    assert _ok(daemon, "rmi", digest) == f"Untagged: {digest}\n"
    out = _ok(daemon, "pull", digest)  # the digest reference is new again
    assert f"Status: Downloaded newer image for {digest}\n" in out
    # the repository's last tag removed: its digest references go with it, as in dockerd
    assert _ok(daemon, "rmi", tag) == f"Untagged: {tag}\nUntagged: {digest}\n"
    left = _ok(daemon, "image", "inspect", "-f", "{{json .RepoDigests}}", "busybox")
    assert f"{creg.addr}/dig/bb@" not in left
