"""Which daemon command autostart would run, and when it is allowed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cove.client import autostart


def test_command_uses_coved_beside_python() -> None:
    argv = autostart.coved_command()
    assert argv[0].endswith("coved") and len(argv) == 1
    if sys.executable:
        assert argv[0].startswith(sys.prefix) or argv[0] == "coved" or "/" in argv[0]


def test_only_the_system_daemons_sockets_are_autostarted(tmp_path: Path) -> None:
    """Issue 15, item 14: a COVE_HOST socket of another daemon is not the system daemon's."""
    none = str(tmp_path / "none.json")
    assert autostart.served_by_system_daemon("unix:///run/cove.sock", none)
    assert autostart.served_by_system_daemon("/run/cove.sock", none)
    assert not autostart.served_by_system_daemon("unix:///tmp/x.sock", none)
    cfg = tmp_path / "daemon.json"
    cfg.write_text('{"hosts": ["unix:///srv/c.sock", "tcp://127.0.0.1:2376"]}')
    assert autostart.served_by_system_daemon("unix:///srv//c.sock", str(cfg))
    assert not autostart.served_by_system_daemon("unix:///run/cove.sock", str(cfg))
    cfg.write_text("not json")
    assert autostart.served_by_system_daemon("unix:///run/cove.sock", str(cfg))


def test_other_socket_fails_at_once_without_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    from cove.client.api import Client
    from cove.client.errors import DaemonUnreachable

    monkeypatch.setattr(autostart, "allowed", lambda: True)
    monkeypatch.setattr(autostart, "CONFIG_FILE", "/nonexistent/daemon.json")

    def started() -> list[str]:
        raise AssertionError("no daemon may be started for another daemon's socket")

    monkeypatch.setattr(autostart, "coved_command", started)
    with pytest.raises(DaemonUnreachable, match=r"unix:///nonexistent/x\.sock"):
        Client("unix:///nonexistent/x.sock").connect()


def test_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVE_NO_AUTOSTART", "1")
    assert not autostart.allowed()
