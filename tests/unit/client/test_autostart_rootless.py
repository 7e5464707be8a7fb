"""A regular user's cove talks to (and autostarts) their own rootless daemon."""

from __future__ import annotations

import os

import pytest

from cove.client import api, autostart


def test_default_host_for_a_user_is_their_rootless_socket(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = os.path.join(os.fspath(tmp_path), "run")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_RUNTIME_DIR", run)
    monkeypatch.delenv("COVE_HOST", raising=False)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert api.resolve_host() == f"unix://{run}/cove.sock"
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert api.resolve_host() == "unix:///run/cove.sock"


def test_autostart_plan_is_coved_rootless_for_that_socket_only(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = os.path.join(os.fspath(tmp_path), "run")
    os.mkdir(run, 0o700)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_RUNTIME_DIR", run)
    monkeypatch.delenv("COVE_NO_AUTOSTART", raising=False)
    plan = autostart._rootless_plan(f"unix://{run}/cove.sock")
    assert plan is not None
    argv, log = plan
    assert argv[-1] == "--rootless" and argv[0].endswith("coved")
    assert log == f"{run}/coved.log"
    assert autostart._rootless_plan("unix:///tmp/elsewhere.sock") is None
    monkeypatch.setenv("COVE_NO_AUTOSTART", "1")
    assert autostart._rootless_plan(f"unix://{run}/cove.sock") is None
