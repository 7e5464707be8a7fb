"""Docker's container states and the transitions between them.

The runtime is the truth: ``sync`` code derives the state from crun and /proc.  Two tables:
``_ALLOWED`` says which states an operation may start from (checked before acting, so an
impossible request fails with Docker's wording instead of half-running); ``_NEXT`` says
which state changes can happen at all, and the record's ``set_*`` methods
(engine/record.py) refuse any other one with a Conflict, so a state is never written by hand.
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


# state -> states it may change to
_NEXT: dict[Status, frozenset[Status]] = {
    Status.CREATED: frozenset({Status.RUNNING}),
    Status.RUNNING: frozenset({Status.PAUSED, Status.EXITED}),
    Status.PAUSED: frozenset({Status.RUNNING, Status.EXITED}),
    # a restart's wait ends as 'exited' (then starts) or is cancelled back to 'exited'
    Status.RESTARTING: frozenset({Status.EXITED}),
    Status.EXITED: frozenset({Status.RUNNING, Status.RESTARTING}),
    Status.REMOVING: frozenset(),
    Status.DEAD: frozenset(),
}


def allowed(op: str, status: Status) -> bool:
    return status in _ALLOWED[op]


def can_change(old: Status, new: Status) -> bool:
    return new in _NEXT[old]


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
