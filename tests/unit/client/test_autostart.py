"""Which daemon command autostart would run, and when it is allowed."""

from __future__ import annotations

import sys

import pytest

from cove.client import autostart


def test_command_uses_coved_beside_python() -> None:
    argv = autostart.coved_command("unix:///run/cove.sock")
    assert argv[0].endswith("coved") and len(argv) == 1
    if sys.executable:
        assert argv[0].startswith(sys.prefix) or argv[0] == "coved" or "/" in argv[0]


def test_non_default_socket_is_passed() -> None:
    assert autostart.coved_command("unix:///tmp/x.sock")[1:] == ["--host", "unix:///tmp/x.sock"]


def test_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVE_NO_AUTOSTART", "1")
    assert not autostart.allowed()
