"""Pure parts of restart, health, top and prune."""

from __future__ import annotations

import pytest

from cove.engine.containers.health import health_command
from cove.engine.containers.prune import parse_until
from cove.engine.containers.restart import MAX_DELAY, MIN_DELAY, next_delay, should_restart
from cove.engine.containers.top import parse_ps
from cove.errors import InvalidArgument


def test_should_restart() -> None:
    assert not should_restart({"Name": "no"}, 1, False, 0)
    assert should_restart({"Name": "always"}, 0, False, 0)
    assert not should_restart({"Name": "always"}, 0, True, 0)
    assert should_restart({"Name": "unless-stopped"}, 0, False, 5)
    assert should_restart({"Name": "on-failure"}, 1, False, 100)
    assert not should_restart({"Name": "on-failure"}, 0, False, 0)
    assert should_restart({"Name": "on-failure", "MaximumRetryCount": 2}, 1, False, 1)
    assert not should_restart({"Name": "on-failure", "MaximumRetryCount": 2}, 1, False, 2)


def test_backoff() -> None:
    assert next_delay(0, 0) == MIN_DELAY
    assert next_delay(0.1, 1) == pytest.approx(0.2)
    assert next_delay(40, 1) == MAX_DELAY
    assert next_delay(40, 11) == MIN_DELAY


def test_health_command() -> None:
    assert health_command(["CMD-SHELL", "true"]) == ["/bin/sh", "-c", "true"]
    assert health_command(["CMD", "ls", "/"]) == ["ls", "/"]
    assert health_command(["NONE"]) is None
    assert health_command(None) is None


def test_parse_ps() -> None:
    out = (
        "UID PID PPID C STIME TTY TIME CMD\n"
        "root 10 1 0 07:00 ? 00:00:00 sleep 100\n"
        "root 11 1 0 07:00 ? 00:00:00 other thing\n"
    )
    got = parse_ps(out, {10})
    assert got["Titles"][1] == "PID"
    assert got["Processes"] == [["root", "10", "1", "0", "07:00", "?", "00:00:00", "sleep 100"]]


def test_parse_until() -> None:
    assert parse_until("100", 0) == 100.0
    assert parse_until("1h30m", 10000) == 10000 - 5400
    with pytest.raises(InvalidArgument):
        parse_until("soon", 0)
