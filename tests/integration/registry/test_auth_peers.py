"""Credentials (basic auth and the bearer-token flow) and other engines pulling from cove's
registry: dockerd and podman, each with its own roots (skipped with a reason if they cannot
start here)."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator

import pytest

from tests.daemon_fixture import ROOT, Daemon
from tests.integration.registry.conftest import Registry, cove_registry


@pytest.fixture(scope="module")
def basic_reg() -> Iterator[Registry]:
    with cove_registry("--auth", "basic", "--auth-user", "alice:s3cret") as r:
        yield r


@pytest.fixture(scope="module")
def token_reg() -> Iterator[Registry]:
    with cove_registry("--auth", "token", "--auth-user", "bob:hunter2", "--anonymous-pull") as r:
        yield r


def _login(d: Daemon, cfg: str, server: str, user: str, pw: str) -> tuple[int, str]:
    env = {**d.env, "COVE_CONFIG": cfg}
    import subprocess

    from tests.daemon_fixture import tool

    r = subprocess.run(
        [tool("cove"), "login", "-u", user, "--password-stdin", server],
        input=pw + "\n",
        capture_output=True,
        text=True,
        env=env,
    )
    return r.returncode, r.stdout + r.stderr


def _with_cfg(d: Daemon, cfg: str, *args: str) -> tuple[int, str]:
    import subprocess

    from tests.daemon_fixture import tool

    r = subprocess.run(
        [tool("cove"), *args], capture_output=True, text=True, env={**d.env, "COVE_CONFIG": cfg}
    )
    return r.returncode, r.stdout + r.stderr


@pytest.mark.parametrize("which", ["basic", "token"])
def test_login_push_pull_logout(
    daemon: Daemon, basic_reg: Registry, token_reg: Registry, tmp_path: object, which: str
) -> None:
    reg, user, pw = (
        (basic_reg, "alice", "s3cret") if which == "basic" else (token_reg, "bob", "hunter2")
    )
    cfg = os.path.join(str(tmp_path), "cfg")
    name = f"{reg.addr}/private/bb:1"
    daemon.cove("tag", "busybox", name, check=True)
    rc, out = _with_cfg(daemon, cfg, "push", name)
    assert rc == 1 and "unauthorized" in out.lower()
    rc, out = _login(daemon, cfg, reg.addr, user, "wrong")
    assert rc == 1 and "unauthorized" in out.lower(), out
    rc, out = _login(daemon, cfg, reg.addr, user, pw)
    assert rc == 0 and "Login Succeeded" in out, out
    path = os.path.join(cfg, "config.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        assert reg.addr in json.load(f)["auths"]
    rc, out = _with_cfg(daemon, cfg, "push", name)
    assert rc == 0 and "Pushed" in out, out
    daemon.cove("rmi", name, check=True)
    rc, out = _with_cfg(daemon, cfg, "pull", name)
    assert rc == 0, out
    rc, out = _with_cfg(daemon, cfg, "logout", reg.addr)
    assert f"Removing login credentials for {reg.addr}" in out
    with open(path) as f:
        assert reg.addr not in json.load(f).get("auths", {})
    daemon.cove("rmi", name)
    rc, out = _with_cfg(daemon, cfg, "pull", name)
    if which == "basic":
        assert rc == 1 and "unauthorized" in out.lower(), out
    else:  # anonymous pulls are allowed by this token server
        assert rc == 0, out
        daemon.cove("rmi", name)


def _peer(kind: str) -> object:
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import peers

    eng = peers.Docker("docker") if kind == "docker" else peers.Podman()
    why = eng.missing()
    if why:
        pytest.skip(why)
    try:
        eng.start()
    except Exception as e:
        eng.teardown()
        pytest.skip(f"{kind} cannot start here: {e}")
    return eng


@pytest.mark.parametrize("kind", ["docker", "podman"])
def test_other_engines_pull_from_cove_registry(daemon: Daemon, creg: Registry, kind: str) -> None:
    name = f"{creg.addr}/peers/bb:1"
    daemon.cove("tag", "busybox", name, check=True)
    daemon.cove("push", name, check=True)
    eng = _peer(kind)
    try:
        extra = ["--tls-verify=false"] if kind == "podman" else []
        r = eng.call("pull", *extra, name, check=False)  # type: ignore[attr-defined]
        assert r.rc == 0, r.err
        r = eng.call("run", "--rm", "--network", "none", name, "echo", "peer", check=False)  # type: ignore[attr-defined]
        assert r.rc == 0 and "peer" in r.out, r.err
        eng.call("rmi", name, check=False)  # type: ignore[attr-defined]
    finally:
        eng.teardown()  # type: ignore[attr-defined]
        daemon.cove("rmi", name)
