"""Stream shapes the engine hands to the API layer (attach, exec, logs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

STDIN, STDOUT, STDERR = 0, 1, 2


@dataclass(frozen=True)
class Chunk:
    stream: int  # STDOUT or STDERR (always STDOUT for a TTY)
    data: bytes


class AttachSession(Protocol):
    """A live connection to a container's or exec's stdio.

    ``read`` returns None once the process closed its output (it exited, or the session was
    closed).  ``close_stdin`` tells the process its input ended (a client's half-close);
    ``close`` drops the session without touching the process.
    """

    tty: bool

    async def read(self) -> Chunk | None: ...

    async def write(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def close(self) -> None: ...
