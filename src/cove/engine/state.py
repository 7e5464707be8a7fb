"""Docker's container states and the transitions between them.

The runtime is the truth: ``sync`` code derives the state from crun and /proc, and every
operation checks its transition here before acting, so an impossible request fails with
Docker's wording instead of half-running.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    REMOVING = "removing"
    EXITED = "exited"
    DEAD = "dead"


# operation -> states it may start from
_ALLOWED: dict[str, frozenset[Status]] = {
    "start": frozenset({Status.CREATED, Status.EXITED}),
    "stop": frozenset({Status.RUNNING, Status.PAUSED, Status.RESTARTING}),
    "kill": frozenset({Status.RUNNING, Status.PAUSED, Status.RESTARTING}),
    "exec": frozenset({Status.RUNNING}),
    "pause": frozenset({Status.RUNNING}),
    "unpause": frozenset({Status.PAUSED}),
    "remove": frozenset({Status.CREATED, Status.EXITED, Status.DEAD}),
    "exit": frozenset({Status.RUNNING, Status.PAUSED, Status.RESTARTING}),
}


def allowed(op: str, status: Status) -> bool:
    return status in _ALLOWED[op]


def initial_state() -> dict[str, object]:
    """The ``State`` object of a container that was just created."""
    return {
        "Status": Status.CREATED.value,
        "Running": False,
        "Paused": False,
        "Restarting": False,
        "OOMKilled": False,
        "Dead": False,
        "Pid": 0,
        "ExitCode": 0,
        "Error": "",
        "StartedAt": "0001-01-01T00:00:00Z",
        "FinishedAt": "0001-01-01T00:00:00Z",
    }
