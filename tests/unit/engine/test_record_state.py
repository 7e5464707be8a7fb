"""State changes are methods of the record that check engine/state.py's table."""

from __future__ import annotations

import pytest

from cove.engine.record import Container
from cove.engine.state import Status, initial_state
from cove.errors import Conflict


def record() -> Container:
    return Container({"Id": "a" * 64, "Name": "/web", "State": initial_state()}, "/nonexistent")


def test_a_run_and_its_exit() -> None:
    c = record()
    c.set_running(42)
    assert c.status == Status.RUNNING and c.state["Running"] and c.state["Pid"] == 42
    assert c.state["FinishedAt"].startswith("0001-")
    c.set_paused()
    assert c.state["Paused"] and c.status == Status.PAUSED
    c.set_exited(137)
    st = c.state
    assert (st["Status"], st["Running"], st["Paused"], st["Pid"], st["ExitCode"]) == (
        "exited", False, False, 0, 137,
    )  # fmt: skip
    assert not st["FinishedAt"].startswith("0001-")
    c.set_restarting()
    assert c.state["Restarting"]
    c.set_restart_over()
    assert c.status == Status.EXITED and not c.state["Restarting"]
    c.set_running(43)
    assert c.state["ExitCode"] == 0 and c.state["Error"] == ""


@pytest.mark.parametrize(
    ("setup", "change"),
    [
        ([], "set_exited"),  # created -> exited: nothing ran
        ([], "set_paused"),
        (["set_running"], "set_running"),
        (["set_running", "set_exited"], "set_paused"),
        (["set_running", "set_exited"], "set_unpaused"),
        (["set_running"], "set_restarting"),
    ],
)
def test_impossible_changes_are_refused(setup: list[str], change: str) -> None:
    c = record()
    for step in setup:
        getattr(c, step)(*([1] if step in ("set_running", "set_exited") else []))
    before = dict(c.state)
    with pytest.raises(Conflict, match="cannot go from"):
        getattr(c, change)(*([1] if change in ("set_running", "set_exited") else []))
    assert c.state == before


def test_a_failed_start_keeps_the_state() -> None:
    c = record()
    c.set_start_failed(127, "not found")
    assert c.status == Status.CREATED and c.state["ExitCode"] == 127
